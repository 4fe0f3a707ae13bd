"""Errors of the member registry, each with a stable code (``REG…``) that docs and scripts may match.

| code   | class                    | when |
|--------|--------------------------|------|
| REG001 | MemberNotFound           | no member has that code |
| REG002 | MemberExists             | a member with that code exists already |
| REG003 | InvalidMemberCode        | a code that does not match ``MEMBER_CODE_PATTERN`` |
| REG004 | InvalidValue             | a type, status, product, role, date, name, label or actor not allowed |
| REG005 | MemberStateConflict      | suspending a suspended member, keys for a member that left, … |
| REG010 | InvalidSshKey            | text that is not an acceptable OpenSSH public key |
| REG011 | SshKeyNotFound           | no active SSH key has that fingerprint |
| REG012 | SshKeyExists             | the key is already registered and not removed |
| REG020 | ApiKeyNotFound           | no API key has that key id |
| REG021 | ApiKeyRevoked            | revoking a key that is already revoked |
| REG030 | UserExists               | a user with that name exists already |
| REG031 | InvalidUser              | a bad user name or role/institution combination |
| REG032 | UserNotFound             | no user has that name |
| REG040 | SubmissionNotFound       | no submission has that load id |
| REG041 | SubmissionStateConflict  | a ledger move its status does not allow, or a concurrent load of the same file |
| REG090 | RegistryNotInitialised   | the database has no registry tables: run ``jdx init`` |
| REG091 | RegistryOutdated         | the database is at another schema revision: run ``jdx init`` |
| REG092 | RegistryUnavailable      | the database cannot be reached or stays locked (transient) |
"""

from __future__ import annotations

from exchange.errors import Conflict, InvalidInput, NotFound, TerminalError, TransientError


class MemberNotFound(NotFound):
    code = "REG001"


class MemberExists(Conflict):
    code = "REG002"


class InvalidMemberCode(InvalidInput):
    code = "REG003"


class InvalidValue(InvalidInput):
    code = "REG004"


class MemberStateConflict(Conflict):
    code = "REG005"


class InvalidSshKey(InvalidInput):
    code = "REG010"


class SshKeyNotFound(NotFound):
    code = "REG011"


class SshKeyExists(Conflict):
    code = "REG012"


class ApiKeyNotFound(NotFound):
    code = "REG020"


class ApiKeyRevoked(Conflict):
    code = "REG021"


class UserExists(Conflict):
    code = "REG030"


class InvalidUser(InvalidInput):
    code = "REG031"


class UserNotFound(NotFound):
    code = "REG032"


class SubmissionNotFound(NotFound):
    code = "REG040"


class SubmissionStateConflict(Conflict):
    code = "REG041"


class DisputeNotFound(NotFound):
    """No dispute has this case number (or it is another member's: the same answer, so a
    member cannot probe other members' cases)."""

    code = "REG050"


class DisputeStateConflict(Conflict):
    """The case is not in a state that takes this act (answered twice, closed)."""

    code = "REG051"


class InvalidDispute(InvalidInput):
    """A dispute's fields break a rule (outcome, evidence, statement, record range)."""

    code = "REG052"


class SelfReportFeeRequired(Conflict):
    """The person has had this year's free self-reports: the next one costs the price list's
    ``SELF_REPORT`` fee, which staff must accept explicitly."""

    code = "REG060"


class ConsentNotFound(NotFound):
    """The member registered no consent with this reference."""

    code = "REG070"


class ProjectNotFound(NotFound):
    """No lab project with this number."""

    code = "REG080"


class InvalidProject(InvalidInput):
    """A lab project application breaks a rule (months, end date, analysts, datasets)."""

    code = "REG081"


class ProjectStateConflict(Conflict):
    """The lab project is not in a state that takes this act (approved twice, expired)."""

    code = "REG082"


class InvalidPassword(InvalidInput):
    """A lab password too short or too long."""

    code = "REG083"


class OutputRequestNotFound(NotFound):
    """No lab output request with this number."""

    code = "REG084"


class OutputStateConflict(Conflict):
    """The output request is not waiting for review (blocked by the checks, or decided)."""

    code = "REG085"


class JobNotFound(NotFound):
    """No lab job with this number."""

    code = "REG086"


class RegistryNotInitialised(TerminalError):
    code = "REG090"
    exit_code = 2


class RegistryOutdated(TerminalError):
    code = "REG091"
    exit_code = 2


class RegistryUnavailable(TransientError):
    code = "REG092"
