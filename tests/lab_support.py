"""Helpers for the lab's tests: a traversable base folder and an interpreter project users can run.

The lab runs each project's servers and jobs as the project's own system user, so the folders on
the way to the projects and the Python interpreter must be reachable by a user who is neither
root nor in root's group. Pytest's ``tmp_path`` lives under a 0700 folder, so the lab's tests use
a base folder of their own under /tmp (mode 0711). On this machine the virtualenv's interpreter
lives under /root (0700); when it is unreachable, :func:`sandbox.isolation.bridge_python` makes a small venv from the
system's Python of the same minor version whose ``.pth`` adds the project virtualenv's
site-packages — the same packages, started from a place project users can reach. This stands in
for an operator installing Python outside /root (docs/lab.md, ``[lab] python``); nothing is
mocked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from warehouse_data import key, loan_state, loan_states_table

from exchange import registry as reg
from exchange.registry import projects
from exchange.registry.users import set_password
from exchange.settings import Settings
from runtime.commands import execute
from sandbox import isolation
from warehouse import Warehouse


@pytest.fixture(scope="module", autouse=True)
def lab_accounts_removed() -> Iterator[None]:
    """Remove the system users and groups (``jdx-lab-p<id>``, ``-job``) this module's tests
    made — by exact name, only those that were not there when it started, and only once no
    process runs as them (the hub's teardown stops the servers first: this fixture is set up
    before any other of the module's, so it is torn down after them). Import it into each
    module whose tests approve projects or spawn servers."""
    users, groups = isolation.lab_accounts()
    yield
    now_users, now_groups = isolation.lab_accounts()
    left = isolation.remove_accounts(now_users - users, now_groups - groups)
    assert not left, f"lab accounts left behind: {left}"


def base_dir(prefix: str) -> Path:
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(base, 0o711)
    return base


TODAY = dt.date.today()
PASSWORD = "correct horse battery staple"
MEMBERS = [("TCF01", "CONSUMER_FINANCE"), ("TML02", "MICROLOAN"), ("TIP03", "INTERNET_PLATFORM")]


def people(db: Any) -> None:
    for code, kind in MEMBERS:
        reg.add_member(db, code=code, name=f"member {code}", type=kind, actor="test")
    reg.add_user(db, "ana", "analyst", "TCF01", actor="test")
    reg.add_user(db, "bob", "analyst", "TML02", actor="test")
    reg.add_user(db, "cy", "analyst", "TIP03", actor="test")
    reg.add_user(db, "rev", "reviewer", actor="test")
    for name in ("ana", "bob", "cy", "rev"):
        set_password(db, name, PASSWORD, actor="test")


def apply_project(db: Any, applicant: str, **kw: Any) -> projects.ProjectInfo:
    values: dict[str, Any] = dict(
        applicant=applicant, title="Multi-borrowing and default", purpose="a logit",
        datasets=["account_months"], first_month="2023-01", last_month="2024-02",
        ends_on=TODAY + dt.timedelta(days=30),
    )  # fmt: skip
    values.update(kw)
    return projects.apply(db, **values)


def _months(first: dt.date, n: int) -> list[dt.date]:
    out, y, m = [], first.year, first.month
    for _ in range(n):
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        out.append(nxt - dt.timedelta(days=1))  # month end
        y, m = nxt.year, nxt.month
    return out


def seed(wh: Warehouse, borrowers: int = 240) -> None:
    """Borrowers with 1–3 accounts at the three members over 14 months; the more lenders, the
    likelier a borrower reaches 90+ dpd later (so the logit has something to find)."""
    rnd = random.Random(7)
    rows = []
    seq = 0
    for b in range(borrowers):
        lenders = rnd.sample(MEMBERS, rnd.randint(1, 3))
        bad = rnd.random() < 0.1 + 0.2 * len(lenders)
        start_bad = rnd.randint(0, 8)
        cures = rnd.random() < 0.4  # pays up after 60 days
        extra = [(code, kind, "B") for code, kind in lenders[:1] if rnd.random() < 0.3]
        for code, kind, suffix in [(c, k, "") for c, k in lenders] + extra:
            product = rnd.choice(["CASH", "INSTALLMENT", "BNPL", "REVOLVING"])
            for i, day in enumerate(_months(dt.date(2023, 1, 1), 14)):
                dpd = max(0, (i - start_bad) * 30) if bad else 0
                dpd = 0 if cures and dpd > 60 else dpd
                seq += 1
                rows.append(loan_state(
                    member_code=code, member_type=kind, account_id=f"A{b}-{code}{suffix}",
                    as_of_date=day, borrower_key=key(f"lab-borrower-{b}"), product=product,
                    installments=0 if product == "REVOLVING" else 12,
                    maturity_date=None if product == "REVOLVING" else dt.date(2025, 1, 1),
                    balance=Decimal(1000 + b), overdue_amount=Decimal(100 if dpd else 0),
                    dpd=min(dpd, 9999), status="OVERDUE" if dpd else "NORMAL",
                    opened_date=dt.date(2022, 12, 15), birth_year=1980 + b % 20,
                    load_seq=seq, name_hash=key(f"name-{b}"), mobile_hash=key(f"mobile-{b}"),
                ))  # fmt: skip
    wh.insert_arrow("loan_states", loan_states_table(rows))


def approve(settings: Settings, wh: Warehouse, project_id: int) -> dict[str, Any]:
    return execute(settings, wh, "lab.approve", {"project": project_id}, "rev", lambda _: None)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def login(base: str, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=30) as c:
        form = c.get("/hub/login")
        xsrf = c.cookies.get("_xsrf")
        assert form.status_code == 200 and xsrf, (form.status_code, form.text[:300])
        return c.post(
            "/hub/login?next=",
            data={"username": username, "password": password, "_xsrf": xsrf},
            follow_redirects=False,
        )


async def run_in_kernel(url: str, token: str, code: str, timeout: float = 60) -> str:
    """Run ``code`` in a kernel over the Jupyter websocket API; its stdout (or the error)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id, out = uuid.uuid4().hex, []
    conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "ana", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
            if raw is None:
                break
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                out.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                break
    finally:
        conn.close()
    return "".join(out)
