"""Logins to the member portal and the operations console: sessions, limits, the login page.

The registry's users log in with their password (argon2id hashes, ``jdx user set-password``):
a member's analyst (role ``analyst``, one institution) reaches the portal of that member only;
association staff (``admin``, ``operator``, ``reviewer``) reach the operations console. The
public pages need no login.

Invariants:

* A session lives on the server (in this process's memory, so a restart logs everyone out); the
  cookie holds only its random id and an HMAC-SHA256 of it under ``[secrets] session_secret``,
  so a cookie not made here is refused before any lookup. The cookie is ``HttpOnly``,
  ``SameSite=Strict``, path-scoped to the dashboards and ``Secure`` when the request came over
  TLS (``[dashboards] cookie_secure``). A session ends after ``session_idle_minutes`` without a
  request, ``session_hours`` after its login, or at logout.
* The login form carries a token that must equal a ``SameSite=Strict`` cookie set with the form
  (double submit), so another site cannot log a browser in under its own account.
* Every login, failed login, refused attempt and logout is an act in the audit chain
  (``dashboards.login``, ``dashboards.login_failed``, ``dashboards.login_limited``,
  ``dashboards.logout``); a user name that is not a valid one is recorded as its SHA-256 (it may
  be a password typed in the wrong box). Passwords are never logged or recorded.
* A member's analyst may log in, and stay logged in, only while the user is in the registry with
  the same role and member and that member is ACTIVE. Every request with a session asks the
  registry again (one indexed read), so suspending a member (the console, ``jdx member
  suspend``) ends its analysts' open sessions at their next page or callback: the session is
  dropped, the request is answered as logged out (pages send the browser to the login page,
  acts are refused with 403) and ``dashboards.session_ended`` names the user and the code. A
  refused login (``dashboards.login_refused``) says why with a code: ``DSH001`` member
  suspended, ``DSH002`` member has left, ``DSH003`` user no longer in the registry or changed.
  Reinstating the member lets its analysts log in again (their old sessions stay ended).
* After ``login_failures`` failures within ``login_window_minutes`` for one user name, or four
  times as many from one client address (a shared office or proxy address has many users),
  further attempts are refused (429) without checking the password.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, g, redirect, request

from dashboards.settings import DashboardSettings
from exchange import audit, registry
from exchange.domain import MemberStatus
from exchange.errors import TerminalError
from exchange.registry import db as registry_db
from exchange.registry.errors import UserNotFound
from exchange.registry.users import USERNAME_PATTERN, check_password

log = logging.getLogger("jdx.dashboards")
COOKIE = "jdx_session"
CSRF_COOKIE = "jdx_login"
_USERNAME_RE = re.compile(USERNAME_PATTERN)


class MemberSuspended(TerminalError):
    """The analyst's member is suspended: no portal login until it is reinstated."""

    code = "DSH001"


class MemberLeft(TerminalError):
    """The analyst's member has left the exchange."""

    code = "DSH002"


class UserGone(TerminalError):
    """The user is no longer in the registry, or its role or member changed since the login."""

    code = "DSH003"


#: what the login page says when a session was ended (``?ended=CODE``)
ENDED = {
    MemberSuspended.code: ("your member is suspended", "所属会员已被暂停"),
    MemberLeft.code: ("your member has left the exchange", "所属会员已退出平台"),
    UserGone.code: ("your user was removed or changed", "您的用户已被删除或变更"),
}


@dataclass(frozen=True)
class Account:
    """Who is logged in: a staff user (no member) or a member's analyst."""

    username: str
    role: str
    member: str | None

    @property
    def staff(self) -> bool:
        return self.role != "analyst"


@dataclass
class _Session:
    account: Account
    started: float
    seen: float
    lang: str = "en"  # the portal's and console's language, as the page's switch last said


class Sessions:
    """Server-side sessions behind signed cookie values ``<id>.<hmac>``."""

    def __init__(
        self, secret: bytes, cfg: DashboardSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self._idle = cfg.session_idle_minutes * 60
        self._max = cfg.session_hours * 3600
        self._clock = clock
        self._lock = threading.Lock()
        self._live: dict[str, _Session] = {}

    def _sign(self, sid: str) -> str:
        return hmac.new(self._secret, sid.encode(), hashlib.sha256).hexdigest()

    def create(self, account: Account) -> str:
        sid = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._live[sid] = _Session(account, now, now)
            for old in [k for k, s in self._live.items() if self._expired(s, now)]:
                del self._live[old]
        return f"{sid}.{self._sign(sid)}"

    def _expired(self, s: _Session, now: float) -> bool:
        return now - s.seen > self._idle or now - s.started > self._max

    def _sid(self, cookie: str | None) -> str | None:
        if not cookie or "." not in cookie or len(cookie) > 200:
            return None
        sid, mac = cookie.rsplit(".", 1)
        return sid if hmac.compare_digest(mac, self._sign(sid)) else None

    def get(self, cookie: str | None) -> Account | None:
        """The account of a live session (touching it), else None."""
        sid = self._sid(cookie)
        if sid is None:
            return None
        now = self._clock()
        with self._lock:
            s = self._live.get(sid)
            if s is None:
                return None
            if self._expired(s, now):
                del self._live[sid]
                return None
            s.seen = now
            return s.account

    def lang(self, cookie: str | None) -> str:
        """The language of the session (``en`` without one)."""
        sid = self._sid(cookie)
        with self._lock:
            s = self._live.get(sid) if sid else None
            return s.lang if s else "en"

    def set_lang(self, cookie: str | None, lang: str) -> None:
        sid = self._sid(cookie)
        with self._lock:
            s = self._live.get(sid) if sid else None
            if s is not None:
                s.lang = "zh" if lang == "zh" else "en"

    def end(self, cookie: str | None) -> Account | None:
        sid = self._sid(cookie)
        with self._lock:
            s = self._live.pop(sid, None) if sid else None
        return s.account if s else None


@dataclass
class LoginLimiter:
    """Failed logins per user name and per client address within a sliding window."""

    failures: int
    window: float
    clock: Callable[[], float] = time.time
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._seen.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        """Whether any key is over its limit (``client:`` keys: four times the limit)."""
        now = self.clock()
        with self._lock:
            return any(
                len(self._recent(k, now)) >= self.failures * (4 if k.startswith("client:") else 1)
                for k in keys
            )

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._seen.pop(f"user:{username}", None)


def _subject(username: str) -> str:
    if _USERNAME_RE.match(username):
        return f"user:{username}"
    return f"user:sha256:{hashlib.sha256(username.encode()).hexdigest()}"


@dataclass
class Auth:
    """The login machinery of one dashboards app (see the module's invariants)."""

    registry_url: str
    sessions: Sessions
    limiter: LoginLimiter
    cfg: DashboardSettings
    prefix: str

    @classmethod
    def create(cls, registry_url: str, secret: bytes, cfg: DashboardSettings, prefix: str) -> Auth:
        limiter = LoginLimiter(cfg.login_failures, cfg.login_window_minutes * 60.0)
        return cls(registry_url, Sessions(secret, cfg), limiter, cfg, prefix)

    def record(self, actor: str, action: str, obj: str, **details: Any) -> None:
        with registry_db.session(self.registry_url) as db:
            audit.append(db, actor=actor, action=action, obj=obj, details=details or None)

    def _secure(self) -> bool:
        mode = self.cfg.cookie_secure
        return mode == "always" or (mode == "auto" and request.scheme == "https")

    def _client(self) -> str:
        return request.remote_addr or "unknown"

    def current(self) -> Account | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def standing(self, account: Account) -> TerminalError | None:
        """Why ``account`` may no longer use the dashboards (None: it still may)."""
        with registry_db.session(self.registry_url, readonly=True) as db:
            try:
                user = registry.get_user(db, account.username)
            except UserNotFound:
                user = None
            if user is None or user.role.value != account.role:
                return UserGone(
                    f"{UserGone.code}: user {account.username} is no longer in the registry "
                    "with this role; ask the association's staff"
                )
            if user.institution != account.member:
                return UserGone(
                    f"{UserGone.code}: user {account.username} no longer works for "
                    f"{account.member}; log in again"
                )
            if user.institution is None:
                return None
            member = registry.get_member(db, user.institution)
            if member.status is MemberStatus.ACTIVE:
                return None
            if member.status is MemberStatus.SUSPENDED:
                return MemberSuspended(
                    f"{MemberSuspended.code}: member {member.code} is suspended, so its "
                    "analysts cannot use the member portal; the association's staff lift the "
                    f"suspension · 会员{member.code}已被暂停，其分析人员不能使用会员门户；"
                    "由协会工作人员解除暂停"
                )
            return MemberLeft(
                f"{MemberLeft.code}: member {member.code} has left the exchange; its analysts "
                f"cannot use the member portal · 会员{member.code}已退出平台，其分析人员不能使用"
                "会员门户"
            )

    def install(self, server: Flask) -> None:
        """The ``/login`` and ``/logout`` routes, and the account of every request in
        ``flask.g.account`` (protected pages redirect a browser without one to the login)."""
        prefix = self.prefix

        @server.before_request
        def load_account() -> Any:
            g.account = self.current()
            g.lang = self.sessions.lang(request.cookies.get(COOKIE)) if g.account else "en"
            ended = None
            if g.account is not None:
                refused = self.standing(g.account)
                if refused is not None:
                    # the member was suspended (or the user changed) since the login: the
                    # session ends now and this request is answered as logged out
                    self.sessions.end(request.cookies.get(COOKIE))
                    self.record(
                        g.account.username,
                        "dashboards.session_ended",
                        f"user:{g.account.username}",
                        code=refused.code,
                        member=g.account.member,
                        path=request.path[:200],
                    )
                    log.warning("dashboards session of %s ended: %s", g.account.username, refused)
                    g.account, ended = None, refused.code
            g.ended = ended
            path = request.path.strip("/")
            area = path.split("/", 1)[0]
            if area in ("portal", "console") and g.account is None and request.method == "GET":
                why = f"&ended={ended}" if ended else ""
                return redirect(f"{prefix}login?next={quote(prefix + path)}{why}", code=303)
            return None

        @server.after_request
        def drop_ended(response: Response) -> Response:
            if getattr(g, "ended", None):
                response.delete_cookie(COOKIE, path=prefix)
            return response

        @server.route("/login", methods=["GET"])
        def login_page() -> Response:
            code = request.args.get("ended", "")
            message = None
            if code in ENDED:
                en, zh = ENDED[code]
                message = f"{code}: your session was ended because {en}. · {zh}，会话已结束。"
            return self._form(request.args.get("next", ""), message, 200)

        @server.route("/login", methods=["POST"])
        def login_post() -> Any:
            form = request.form
            username = str(form.get("username", ""))[:256].strip().lower()
            password = str(form.get("password", ""))[:1024]
            wanted = str(form.get("next", ""))
            token = str(form.get("csrf", ""))
            cookie = request.cookies.get(CSRF_COOKIE, "")
            if not token or not cookie or not hmac.compare_digest(token, cookie):
                return self._form(
                    wanted, "The login form expired; try again. · 登录表单已过期，请重试。", 400
                )
            client = self._client()
            keys = (f"user:{username}", f"client:{client}")
            subject = _subject(username)
            if self.limiter.blocked(*keys):
                self.record("dashboards", "dashboards.login_limited", subject, client=client)
                wait = self.cfg.login_window_minutes
                message = (
                    f"Too many failed logins; wait {wait} minutes and try again. · "
                    f"登录失败次数过多，请等待{wait}分钟后重试。"
                )
                return self._form(wanted, message, 429)
            with registry_db.session(self.registry_url, readonly=True) as db:
                user = check_password(db, username, password)
            if user is None:
                self.limiter.failed(*keys)
                self.record("dashboards", "dashboards.login_failed", subject, client=client)
                return self._form(wanted, "Wrong user name or password. · 用户名或密码错误。", 401)
            self.limiter.succeeded(username)
            account = Account(user.username, user.role.value, user.institution)
            refused = self.standing(account)
            if refused is not None:
                self.record(
                    account.username,
                    "dashboards.login_refused",
                    subject,
                    client=client,
                    code=refused.code,
                    member=account.member,
                )
                return self._form(wanted, refused.message, 403)
            self.record(
                account.username,
                "dashboards.login",
                subject,
                client=client,
                role=account.role,
                member=account.member,
            )
            home = "console" if account.staff else "portal"
            target = wanted if self._allowed(wanted, account) else f"{prefix}{home}"
            response = redirect(target, code=303)
            response.set_cookie(
                COOKIE,
                self.sessions.create(account),
                httponly=True,
                samesite="Strict",
                secure=self._secure(),
                path=prefix,
            )
            response.delete_cookie(CSRF_COOKIE, path=f"{prefix}login")
            return response

        @server.route("/logout", methods=["POST"])
        def logout() -> Any:
            account = self.sessions.end(request.cookies.get(COOKIE))
            if account is not None:
                self.record(account.username, "dashboards.logout", f"user:{account.username}")
            response = redirect(prefix, code=303)
            response.delete_cookie(COOKIE, path=prefix)
            return response

    def _allowed(self, target: str, account: Account) -> bool:
        """Only this app's own portal or console pages, of the account's kind."""
        if not target.startswith(self.prefix) or "//" in target or "\\" in target:
            return False
        area = target[len(self.prefix) :].split("/", 1)[0]
        return area == ("console" if account.staff else "portal")

    def _form(self, wanted: str, message: str | None, status: int) -> Response:
        token = secrets.token_urlsafe(24)
        p = html.escape(self.prefix)
        error = (
            f'<p class="login-error" id="login-error">{html.escape(message)}</p>' if message else ""
        )
        body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>jdx — log in</title>
<link rel="icon" href="{p}_favicon.ico"><link rel="stylesheet" href="{p}assets/jdx.css"></head>
<body class="jdx login-body"><main class="login">
<h1>Log in · 登录</h1>
<p>Members' analysts reach their member portal, association staff the operations console.
The <a href="{p}">public pages</a> need no login.</p>
<p lang="zh">会员机构分析人员登录后进入会员门户，协会工作人员进入运营控制台。<a href="{p}">公开页面</a>无需登录。</p>
{error}
<form method="post" action="{p}login" id="login-form">
<input type="hidden" name="csrf" value="{token}">
<input type="hidden" name="next" value="{html.escape(wanted)}">
<label for="username">User name · 用户名</label>
<input id="username" name="username" autocomplete="username" required maxlength="32">
<label for="password">Password · 密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">Log in · 登录</button>
</form></main></body></html>"""
        response = Response(body, status=status, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=self._secure(),
            path=f"{self.prefix}login",
            max_age=3600,
        )
        return response
