"""The data laboratory: projects in the registry, lab passwords, the de-identified extract built
from a real chDB warehouse, the example logit, and a real JupyterHub (with configurable-http-proxy
from npm) on loopback that lets an approved analyst in, spawns their server in the project's
directory with the extract readable, and refuses everyone else."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from warehouse_data import key, loan_state, loan_states_table

from exchange import audit
from exchange import registry as reg
from exchange.registry import db as registry_db
from exchange.registry import projects
from exchange.registry.errors import InvalidPassword, InvalidProject, ProjectStateConflict
from exchange.registry.users import check_password, set_password
from exchange.settings import Settings
from runtime.commands import execute
from sandbox import hubconfig
from sandbox.examples.logit_90dpd import fit
from sandbox.settings import LabSettings
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]

TODAY = dt.date.today()
PASSWORD = "correct horse battery staple"
MEMBERS = [("TCF01", "CONSUMER_FINANCE"), ("TML02", "MICROLOAN"), ("TIP03", "INTERNET_PLATFORM")]


def _people(db: Any) -> None:
    for code, kind in MEMBERS:
        reg.add_member(db, code=code, name=f"member {code}", type=kind, actor="test")
    reg.add_user(db, "ana", "analyst", "TCF01", actor="test")
    reg.add_user(db, "bob", "analyst", "TML02", actor="test")
    reg.add_user(db, "cy", "analyst", "TIP03", actor="test")
    reg.add_user(db, "rev", "reviewer", actor="test")
    for name in ("ana", "bob", "cy", "rev"):
        set_password(db, name, PASSWORD, actor="test")


def _apply(db: Any, applicant: str, **kw: Any) -> projects.ProjectInfo:
    values: dict[str, Any] = dict(
        applicant=applicant, title="Multi-borrowing and default", purpose="a logit",
        datasets=["account_months"], first_month="2023-01", last_month="2024-02",
        ends_on=TODAY + dt.timedelta(days=30),
    )  # fmt: skip
    values.update(kw)
    return projects.apply(db, **values)


def test_project_lifecycle_is_audited_and_expiry_ends_access(registry: str) -> None:
    with registry_db.session(registry) as db:
        _people(db)
        p = _apply(db, "ana", analysts=["bob"])
        assert p.status.value == "applied" and p.analysts == ("ana", "bob")
        assert projects.active_projects(db, "ana") == []
        projects.approve(db, p.id, actor="rev", extract_sha256="0" * 64, extract_rows=3)
        with pytest.raises(ProjectStateConflict):
            projects.approve(db, p.id, actor="rev", extract_sha256="0" * 64, extract_rows=3)
        with pytest.raises(ProjectStateConflict):
            projects.reject(db, p.id, actor="rev", reason="too late")
        q = _apply(db, "cy")
        projects.reject(db, q.id, actor="rev", reason="purpose unclear")
        with pytest.raises(InvalidProject, match="only analysts"):
            _apply(db, "rev")
        with pytest.raises(InvalidProject, match="not offered"):
            _apply(db, "ana", datasets=["names"])
        with pytest.raises(InvalidProject, match="not a period"):
            _apply(db, "ana", first_month="2024-03", last_month="2024-01")
    with registry_db.session(registry) as db:
        assert [x.id for x in projects.active_projects(db, "ana")] == [p.id]
        assert projects.active_projects(db, "cy") == []
        later = p.ends_on + dt.timedelta(days=1)
        assert projects.active_projects(db, "ana", today=later) == []  # ends on the day
        assert [x.id for x in projects.expire_due(db, actor="lab", today=later)] == [p.id]
        assert projects.expire_due(db, actor="lab", today=later) == []
        assert projects.get(db, p.id).status.value == "expired"
        acts = [(e.action, e.object) for e in audit.entries(db) if e.action.startswith("lab.")]
    assert acts == [
        ("lab.project_apply", f"lab_project:{p.id}"),
        ("lab.project_approve", f"lab_project:{p.id}"),
        ("lab.project_apply", f"lab_project:{q.id}"),
        ("lab.project_reject", f"lab_project:{q.id}"),
        ("lab.project_expire", f"lab_project:{p.id}"),
    ]


def test_password_is_hashed_checked_and_audited_without_its_value(registry: str) -> None:
    with registry_db.session(registry) as db:
        _people(db)
        with pytest.raises(InvalidPassword):
            set_password(db, "ana", "short", actor="test")
    with registry_db.session(registry, readonly=True) as db:
        assert check_password(db, "ana", PASSWORD) is not None
        assert check_password(db, "ana", PASSWORD + "x") is None
        assert check_password(db, "nobody", PASSWORD) is None
        stored = db.scalar(
            registry_db_text("SELECT password_hash FROM users WHERE username = 'ana'")
        )
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        details = [e.details for e in audit.entries(db) if e.action == "user.set_password"]
    assert len(details) == 4 and all(PASSWORD not in json.dumps(d) for d in details)


def registry_db_text(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)


# --- extract --------------------------------------------------------------------------------


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


def test_extract_is_deidentified_read_only_and_unlinkable(
    jdx_home: Settings, registry: str, fresh_wh: Warehouse
) -> None:
    seed(fresh_wh)
    with registry_db.session(registry) as db:
        _people(db)
        one, two = _apply(db, "ana").id, _apply(db, "bob").id
    result = approve(jdx_home, fresh_wh, one)
    approve(jdx_home, fresh_wh, two)
    root = jdx_home.section(LabSettings).projects_dir
    assert root is not None
    data = root / str(one) / "data"
    table = pq.read_table(data / "accounts.parquet")
    assert result["data"]["extract_rows"] == table.num_rows > 0
    assert oct(data.stat().st_mode & 0o777) == "0o555"
    assert oct((data / "accounts.parquet").stat().st_mode & 0o777) == "0o444"
    # scan every cell of every column for warehouse keys, member codes, account ids, hashes
    text = json.dumps(table.to_pylist(), default=str)
    for b in range(240):
        assert key(f"lab-borrower-{b}") not in text and key(f"name-{b}") not in text
    assert key("lab-borrower-0")[:32] not in text
    for code, _ in MEMBERS:
        assert code not in text
    assert "A1-" not in text and "1990-" not in text  # account ids; no day-precise dates
    assert set(table.column("institution").to_pylist()) == {"I001", "I002", "I003"}
    assert set(table.column("birth_year_band").to_pylist()) <= {1980, 1985, 1990, 1995}
    assert {d.day for d in table.column("opened_month").to_pylist()} == {1}
    other = pq.read_table(root / str(two) / "data" / "accounts.parquet")
    assert not set(table.column("borrower").to_pylist()) & set(other.column("borrower").to_pylist())
    model = fit(data)  # the example fits on the extract
    assert model.params["institutions"] > 0 and model.df_resid > 0
    assert (root / str(one) / "work" / "logit_90dpd.py").exists()
    with registry_db.session(registry, readonly=True) as db:
        p = projects.get(db, one)
    assert p.status.value == "approved" and p.extract_sha256 == result["data"]["extract_sha256"]


# --- the real hub ------------------------------------------------------------------------------


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture
def lab_settings(jdx_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    port, hub, api = _free_ports(3)
    monkeypatch.setenv("JDX_LAB_PORT", str(port))
    monkeypatch.setenv("JDX_LAB_HUB_PORT", str(hub))
    monkeypatch.setenv("JDX_LAB_PROXY_API_PORT", str(api))
    monkeypatch.setenv("JDX_LAB_START_TIMEOUT", "60")
    from runtime.config import load

    hubconfig.settings.cache_clear()
    yield load()
    hubconfig.settings.cache_clear()


def _login(base: str, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=30) as c:
        form = c.get("/hub/login")
        xsrf = c.cookies.get("_xsrf")
        assert form.status_code == 200 and xsrf
        return c.post(
            "/hub/login?next=",
            data={"username": username, "password": password, "_xsrf": xsrf},
            follow_redirects=False,
        )


KERNEL_CODE = """
import os, pathlib, runpy
root = pathlib.Path.cwd()
data = next(p for p in (root / "data", root.parent / "data") if p.is_dir())
result = runpy.run_path(str(data.parent / "work" / "logit_90dpd.py"))["fit"](data)
print("fitted", int(result.df_resid), result.params["institutions"] > 0)
leaked = [k for k in os.environ if k.startswith("JDX_") and k != "JDX_LAB_PROJECT"]
print("warehouse-free" if not leaked else f"leaked {leaked}")
"""


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


@pytest.mark.slow
def test_real_hub_lets_approved_analysts_in_and_spawns_in_the_project(
    lab_settings: Settings, registry: str, fresh_wh: Warehouse
) -> None:
    from sandbox.service import LabService

    seed(fresh_wh)
    with registry_db.session(registry) as db:
        _people(db)
        approved = _apply(db, "ana").id
        _apply(db, "bob")  # never decided
        ended = _apply(db, "cy", ends_on=TODAY).id
    approve(lab_settings, fresh_wh, approved)
    approve(lab_settings, fresh_wh, ended)
    with registry_db.session(registry) as db:  # cy's project ended yesterday
        db.execute(
            registry_db_text(
                f"UPDATE lab_projects SET ends_on = '{TODAY - dt.timedelta(days=1)}' WHERE id = {ended}"
            )
        )
    lab = LabService(lab_settings, actor="test")
    started = time.monotonic()
    with lab:
        assert time.monotonic() - started < 60
        base = lab.url
        ok = _login(base, "ana", PASSWORD)
        assert ok.status_code == 302 and "jupyterhub-session-id" in ok.headers.get("set-cookie", "")
        for name, password in [("ana", "wrong password!!"), ("bob", PASSWORD), ("cy", PASSWORD),
                               ("rev", PASSWORD), ("nobody", PASSWORD)]:  # fmt: skip
            refused = _login(base, name, password)
            assert refused.status_code == 403, name
        with lab.client() as api:
            user = api.get("/users/ana").json()
            assert user["groups"] == [f"project-{approved}"]
            assert api.post("/users/ana/server").status_code in (201, 202)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = api.get("/users/ana").json()["servers"].get("", {})
                if state.get("ready"):
                    break
                time.sleep(0.5)
            assert state.get("ready"), state
            token = api.post("/users/ana/tokens", json={"note": "test", "expires_in": 300}).json()[
                "token"
            ]
            assert api.post("/users/bob/server").status_code >= 400  # no active project
        headers = {"Authorization": f"token {token}"}
        with httpx.Client(base_url=f"{base}/user/ana/api", headers=headers, timeout=30) as srv:
            listing = srv.get("/contents/data").json()
            assert {f["name"] for f in listing["content"]} == {"accounts.parquet", "manifest.json"}
            manifest = json.loads(srv.get("/contents/data/manifest.json").json()["content"])
            assert manifest["project"] == approved and manifest["rows"] > 0
            assert "logit_90dpd.py" in {
                f["name"] for f in srv.get("/contents/work").json()["content"]
            }
            kernel = srv.post("/kernels", json={"name": "python3"}).json()["id"]
        ws = f"{base.replace('http', 'ws', 1)}/user/ana/api/kernels/{kernel}/channels"
        out = asyncio.run(run_in_kernel(ws, token, KERNEL_CODE))
        assert "fitted" in out and "True" in out and "warehouse-free" in out, out
        # the project expires: the expiry check stops ana's server
        with registry_db.session(registry) as db:
            db.execute(
                registry_db_text(
                    f"UPDATE lab_projects SET ends_on = '{TODAY - dt.timedelta(days=1)}' WHERE id = {approved}"
                )
            )
        assert sorted(lab.expire()) == sorted([approved, ended])
        with lab.client() as api:
            deadline = time.monotonic() + 30
            while api.get("/users/ana").json()["servers"] and time.monotonic() < deadline:
                time.sleep(0.5)
            assert api.get("/users/ana").json()["servers"] == {}
            assert api.post("/users/ana/server").status_code >= 400  # and no new one
        assert _login(base, "ana", PASSWORD).status_code == 403
    with registry_db.session(registry, readonly=True) as db:  # the analyst's acts are chained
        acts = [(e.action, e.actor) for e in audit.entries(db)
                if e.action in ("lab.login", "lab.server_start")]  # fmt: skip
    assert acts == [("lab.login", "ana"), ("lab.server_start", "ana")], acts
    assert os.environ.get("JDX_LAB_HUB_API_TOKEN") is None
    log = (lab_settings.section(LabSettings).hub_dir / "jupyterhub.log").read_text()  # type: ignore[operator]
    assert hubconfig.hub_token(lab_settings) not in log and PASSWORD not in log


# --- the commands -----------------------------------------------------------------------------


def _jdx(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``jdx`` in a subprocess (its own chDB directory: this module holds another)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env["JDX_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_lab_commands_apply_approve_reject_list(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ends = (TODAY + dt.timedelta(days=10)).isoformat()
    steps: list[tuple[tuple[str, ...], str | None, str]] = [
        (("init",), None, ""),
        (("member", "add", "TCF01", "--name", "member one", "--type", "CONSUMER_FINANCE"), None, ""),
        (("user", "add", "ana", "--role", "analyst", "--institution", "TCF01"), None, ""),
        (("user", "set-password", "ana", "--password-stdin"), PASSWORD + "\n", "password of ana set"),
        (("user", "set-password", "ana", "--password-stdin"), "short\n", "REG083"),
        (("lab", "project", "apply", "--applicant", "ana", "--title", "t1", "--purpose", "p",
          "--first-month", "2024-01", "--last-month", "2024-12", "--ends-on", ends), None,
         "lab project 1"),
        (("lab", "project", "apply", "--applicant", "ana", "--title", "t2", "--purpose", "p",
          "--first-month", "2024-01", "--last-month", "2024-12", "--ends-on", ends), None,
         "lab project 2"),
        (("lab", "project", "approve", "1", "--actor", "rev"), None, "approved lab project 1"),
        (("lab", "project", "approve", "1", "--actor", "rev"), None, "REG082"),
        (("lab", "project", "reject", "2", "--reason", "unclear", "--actor", "rev"), None,
         "rejected lab project 2"),
        (("lab", "project", "approve", "9", "--actor", "rev"), None, "REG080"),
    ]  # fmt: skip
    for args, stdin, needle in steps:
        done = _jdx(home, *args, stdin=stdin)
        assert needle in done.stdout + done.stderr, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
    listed = json.loads(_jdx(home, "lab", "project", "list", "--json").stdout)
    assert [(p["id"], p["status"]) for p in listed] == [(1, "approved"), (2, "rejected")]
    assert (home / "lab" / "projects" / "1" / "data" / "manifest.json").exists()
    chain = _jdx(home, "audit", "verify")
    assert chain.returncode == 0, chain.stdout + chain.stderr


@pytest.mark.slow
def test_jdx_serve_runs_the_lab_and_approves_through_the_admin_channel(tmp_path: Path) -> None:
    from serve_support import jdx, running_exchange

    port, hub, api = _free_ports(3)
    env = {"JDX_LAB_ENABLED": "1", "JDX_LAB_PORT": str(port), "JDX_LAB_HUB_PORT": str(hub),
           "JDX_LAB_PROXY_API_PORT": str(api)}  # fmt: skip
    members = {"TCF01": (dt.date(2024, 1, 1), "CONSUMER_FINANCE")}
    ends = (TODAY + dt.timedelta(days=10)).isoformat()
    with running_exchange(tmp_path, members, env=env) as ex:
        assert any(line.startswith("lab: JupyterHub at") for line in ex.output), ex.output
        for args, stdin in [
            (("user", "add", "ana", "--role", "analyst", "--institution", "TCF01"), None),
            (("user", "set-password", "ana", "--password-stdin"), PASSWORD + "\n"),
            (("lab", "project", "apply", "--applicant", "ana", "--title", "t", "--purpose", "p",
              "--first-month", "2024-01", "--last-month", "2024-06", "--ends-on", ends), None),
        ]:  # fmt: skip
            done = subprocess.run(
                [sys.executable, "-c", "from cli import main; main()", *args],
                env=_serve_env(ex.home, env), input=stdin,
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert done.returncode == 0, (args, done.stderr)
        # the warehouse belongs to jdx serve: the extract is built there, over the admin channel
        approved = jdx(ex.home, "lab", "project", "approve", "1", "--actor", "rev", env=env)
        assert "approved lab project 1" in approved.stdout, approved.stderr
        assert _login(f"http://127.0.0.1:{port}", "ana", PASSWORD).status_code == 302
    with pytest.raises(httpx.TransportError):  # jdx serve stopped the hub and its proxy
        httpx.get(f"http://127.0.0.1:{port}/hub/login", timeout=5)


def _serve_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    from serve_support import serve_env

    return {**serve_env(home), **extra}
