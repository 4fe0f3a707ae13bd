"""Who may see a portal or console page, and the refusal of everything else.

The account of the request is in ``flask.g.account`` (:mod:`dashboards.auth`). Pages call
:func:`member_of` / :func:`staff` to learn who asks; callbacks and download routes call
:func:`need_member` / :func:`need_staff`, which refuse with HTTP 403 (recorded in the audit chain
as ``dashboards.refused``) instead of answering. Nothing here takes a member from the request:
a member is always the logged-in user's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dash import dcc, html
from flask import g, request
from werkzeug.exceptions import Forbidden

from dashboards.auth import Account
from dashboards.text import tr

log = logging.getLogger("jdx.dashboards")
#: set by the app: records a refusal in the audit chain (actor, action, object, details)
Record = Callable[..., None]
#: staff roles allowed each console act
ACTS = {"member": ("admin",), "build": ("admin", "operator")}


def account() -> Account | None:
    return getattr(g, "account", None)


def refuse(record: Record | None, why: str) -> Forbidden:
    """A 403 to raise, recorded (who, which path, why — never a request body)."""
    who = account()
    if record is not None:
        record(
            who.username if who else "anonymous",
            "dashboards.refused",
            f"path:{request.path}",
            reason=why[:200],
        )
    log.warning("dashboards refused %s for %s: %s", request.path, who.username if who else "-", why)
    return Forbidden(why)


def need_member(record: Record | None) -> Account:
    who = account()
    if who is None or who.staff or not who.member:
        raise refuse(record, "a member's analyst's login is needed")
    return who


def need_staff(record: Record | None, act: str | None = None) -> Account:
    who = account()
    if who is None or not who.staff:
        raise refuse(record, "an association staff login is needed")
    if act is not None and who.role not in ACTS[act]:
        raise refuse(record, f"role {who.role} may not do this ({act})")
    return who


def login_needed(prefix: str, path: str) -> list[Any]:
    """What a page shows a logged-out browser that reached it without a full page load."""
    ended = getattr(g, "ended", None)
    target = f"{prefix}login?next={prefix}{path}" + (f"&ended={ended}" if ended else "")
    return [
        html.P(
            [tr("Log in to see this page: "), html.A(tr("log in"), href=target, id="login-link")],
            className="empty",
        ),
        dcc.Location(id="to-login", href=target, refresh=True),
    ]


def wrong_area(kind: str) -> list[Any]:
    return [
        html.P(
            tr("This page is for {kind}; your login does not reach it.", kind=kind),
            className="empty",
            id="wrong-area",
        )
    ]
