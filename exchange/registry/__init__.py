"""The member registry: institutions, their SSH and API keys, users — with every admin act audited.

Open a session with :func:`exchange.registry.db.session` and call the services below; each takes
the Session first and, for admin acts, an ``actor`` whose act is appended to the audit chain
(:mod:`exchange.audit`) in the same transaction. Services return frozen dataclasses, never ORM
rows, so results stay valid after the session ends. Errors are
:mod:`exchange.registry.errors` classes with stable ``REG…`` codes.
"""

from exchange.registry.api_keys import (
    ApiCaller,
    ApiKeyInfo,
    authenticate_api_key,
    issue_api_key,
    list_api_keys,
    revoke_api_key,
)
from exchange.registry.members import (
    MemberInfo,
    add_member,
    get_member,
    list_members,
    reinstate_member,
    suspend_member,
)
from exchange.registry.models import SubmissionStatus, UserRole
from exchange.registry.ssh_keys import (
    SshKeyInfo,
    active_ssh_keys,
    add_ssh_key,
    list_ssh_keys,
    parse_ssh_public_key,
    remove_ssh_key,
)
from exchange.registry.submissions import SubmissionInfo, list_submissions
from exchange.registry.users import UserInfo, add_user, get_user, list_users

__all__ = [
    "ApiCaller",
    "ApiKeyInfo",
    "MemberInfo",
    "SshKeyInfo",
    "SubmissionInfo",
    "SubmissionStatus",
    "UserInfo",
    "UserRole",
    "active_ssh_keys",
    "add_member",
    "add_ssh_key",
    "add_user",
    "authenticate_api_key",
    "get_member",
    "get_user",
    "issue_api_key",
    "list_api_keys",
    "list_members",
    "list_ssh_keys",
    "list_submissions",
    "list_users",
    "parse_ssh_public_key",
    "reinstate_member",
    "remove_ssh_key",
    "revoke_api_key",
    "suspend_member",
]
