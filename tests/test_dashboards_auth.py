"""The dashboards' sessions and login limits, with a clock the test moves (no waiting an hour).

The browser side (login form, cookie flags, 429, audit chain) is in test_dashboards_portal.py.
"""

from __future__ import annotations

from dashboards.auth import Account, LoginLimiter, Sessions
from dashboards.settings import DashboardSettings

ALICE = Account("alice", "analyst", "ALPHA")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def sessions(clock: Clock, secret: bytes = b"s" * 32) -> Sessions:
    cfg = DashboardSettings(session_idle_minutes=30, session_hours=12)
    return Sessions(secret, cfg, clock)


def test_a_session_ends_when_idle_too_long_at_its_limit_or_at_logout() -> None:
    clock = Clock()
    store = sessions(clock)
    cookie = store.create(ALICE)
    assert store.get(cookie) == ALICE
    clock.now += 29 * 60  # busy: every request moves the idle clock on
    assert store.get(cookie) == ALICE
    clock.now += 29 * 60
    assert store.get(cookie) == ALICE
    clock.now += 31 * 60  # idle 31 minutes
    assert store.get(cookie) is None
    busy = store.create(ALICE)
    for _ in range(26):  # a request every 29 minutes for 12.6 hours
        clock.now += 29 * 60
        store.get(busy)
    assert store.get(busy) is None  # past session_hours however busy
    third = store.create(ALICE)
    assert store.end(third) == ALICE and store.get(third) is None


def test_a_cookie_not_signed_here_is_refused() -> None:
    clock = Clock()
    store = sessions(clock)
    cookie = store.create(ALICE)
    sid, mac = cookie.rsplit(".", 1)
    assert store.get(f"{sid}.{'0' * len(mac)}") is None
    assert store.get(sid) is None and store.get("") is None and store.get(None) is None
    other = sessions(clock, secret=b"t" * 32)  # another key (a rotated session_secret)
    assert other.get(cookie) is None
    assert store.get(cookie) == ALICE


def test_failed_logins_are_limited_per_user_and_per_client_within_the_window() -> None:
    clock = Clock()
    limiter = LoginLimiter(3, 900.0, clock)
    for _ in range(3):
        assert not limiter.blocked("user:bob", "client:10.0.0.1")
        limiter.failed("user:bob", "client:10.0.0.1")
    assert limiter.blocked("user:bob", "client:10.0.0.2")  # the user, from anywhere
    assert not limiter.blocked("user:carol", "client:10.0.0.1")  # client: 4 × the limit
    for user in ("carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory"):
        limiter.failed(f"user:{user}", "client:10.0.0.1")
    assert limiter.blocked("user:trent", "client:10.0.0.1")  # 12 from this address
    clock.now += 901  # the window has passed
    assert not limiter.blocked("user:bob", "client:10.0.0.1")
    limiter.failed("user:bob")
    limiter.succeeded("bob")
    assert not limiter.blocked("user:bob")
