"""The data laboratory: projects in the registry, lab passwords, the de-identified extract built
from a real chDB warehouse (month by month, with its 1 % sample), the example logit, the jdx lab
commands, and jdx serve running the lab. The hub itself, isolation, output release and jobs are
in tests/test_lab_hub.py (one JupyterHub for that module)."""

from __future__ import annotations

import datetime as dt
import grp
import json
import os
import pwd
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from lab_support import (
    MEMBERS,
    PASSWORD,
    TODAY,
    apply_project,
    approve,
    free_ports,
    lab_accounts_removed,  # noqa: F401  (autouse: this module's system users go at its end)
    login,
    people,
    seed,
)
from warehouse_data import key

from exchange import audit
from exchange.registry import db as registry_db
from exchange.registry import projects
from exchange.registry.errors import InvalidPassword, InvalidProject, ProjectStateConflict
from exchange.registry.users import check_password, set_password
from exchange.settings import Settings
from sandbox.examples.logit_90dpd import fit
from sandbox.extract import in_sample
from sandbox.settings import LabSettings
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]


def test_project_lifecycle_is_audited_and_expiry_ends_access(registry: str) -> None:
    with registry_db.session(registry) as db:
        people(db)
        p = apply_project(db, "ana", analysts=["bob"])
        assert p.status.value == "applied" and p.analysts == ("ana", "bob")
        assert projects.active_projects(db, "ana") == []
        projects.approve(db, p.id, actor="rev", extract_sha256="0" * 64, extract_rows=3)
        with pytest.raises(ProjectStateConflict):
            projects.approve(db, p.id, actor="rev", extract_sha256="0" * 64, extract_rows=3)
        with pytest.raises(ProjectStateConflict):
            projects.reject(db, p.id, actor="rev", reason="too late")
        q = apply_project(db, "cy")
        projects.reject(db, q.id, actor="rev", reason="purpose unclear")
        with pytest.raises(InvalidProject, match="only analysts"):
            apply_project(db, "rev")
        with pytest.raises(InvalidProject, match="not offered"):
            apply_project(db, "ana", datasets=["names"])
        with pytest.raises(InvalidProject, match="not a period"):
            apply_project(db, "ana", first_month="2024-03", last_month="2024-01")
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
        people(db)
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


def test_extract_is_deidentified_read_only_and_unlinkable(
    jdx_home: Settings, registry: str, fresh_wh: Warehouse
) -> None:
    seed(fresh_wh)
    with registry_db.session(registry) as db:
        people(db)
        one, two = apply_project(db, "ana").id, apply_project(db, "bob").id
    result = approve(jdx_home, fresh_wh, one)
    approve(jdx_home, fresh_wh, two)
    root = jdx_home.section(LabSettings).projects_dir
    assert root is not None
    data = root / str(one) / "data"
    table = pq.read_table(data / "accounts.parquet")
    assert result["data"]["extract_rows"] == table.num_rows > 0
    # read-only, for the project's group only (its own system user: sandbox.isolation)
    assert oct(data.stat().st_mode & 0o777) == "0o550"
    for name in ("accounts.parquet", "sample.parquet", "manifest.json"):
        assert oct((data / name).stat().st_mode & 0o777) == "0o440"
        assert grp.getgrgid((data / name).stat().st_gid).gr_name == f"jdx-lab-p{one}"
    assert (data / "accounts.parquet").stat().st_uid == 0
    sample = pq.read_table(data / "sample.parquet")  # 1 % of 240 borrowers: a handful, maybe 0
    assert sample.schema == table.schema and sample.num_rows < table.num_rows / 10
    assert set(sample.column("borrower").to_pylist()) <= set(table.column("borrower").to_pylist())
    keys = pa.array([secrets.token_hex(16) for _ in range(100_000)])
    assert 0.009 < pc.mean(in_sample(keys).cast(pa.int8())).as_py() < 0.011  # 1 % of borrowers
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

    port, hub, api, outs = free_ports(4)
    # this test is about jdx serve running the hub; servers as project users: test_lab_hub.py
    env = {"JDX_LAB_ENABLED": "1", "JDX_LAB_ISOLATE": "0", "JDX_LAB_OUTPUTS_PORT": str(outs),
           "JDX_LAB_PORT": str(port), "JDX_LAB_HUB_PORT": str(hub),
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
        assert login(f"http://127.0.0.1:{port}", "ana", PASSWORD).status_code == 302
    with pytest.raises(httpx.TransportError):  # jdx serve stopped the hub and its proxy
        httpx.get(f"http://127.0.0.1:{port}/hub/login", timeout=5)


def _serve_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    from serve_support import serve_env

    return {**serve_env(home), **extra}


def test_account_removal_takes_only_lab_accounts() -> None:
    from sandbox.isolation import remove_accounts

    with pytest.raises(ValueError, match="not a lab account"):
        remove_accounts({"root"}, set())
    with pytest.raises(ValueError, match="not a lab account"):
        remove_accounts(set(), {"jdx-labx"})
    assert remove_accounts({"jdx-lab-p999999-job"}, {"jdx-lab-p999999"}) == []  # absent: no-op


def test_extract_read_in_key_slices_is_the_same_as_in_one_read(
    fresh_wh: Warehouse, tmp_path: Path
) -> None:
    import hashlib

    from sandbox.extract import build, key_ranges, keyed_hex

    seed(fresh_wh)
    salt = secrets.token_bytes(32)
    assert (
        keyed_hex(salt, "borrower:")(b"ab12")
        == hashlib.blake2b(b"borrower:ab12", key=salt, digest_size=16).hexdigest()
    )
    assert key_ranges(10, 100) == [("", "")]
    assert key_ranges(300, 100) == [("", "55"), ("55", "aa"), ("aa", "")]
    assert len(key_ranges(10**12, 1)) == 256
    months = dict(first_month=dt.date(2023, 1, 1), last_month=dt.date(2024, 2, 1))
    whole = build(fresh_wh, tmp_path / "whole", project_id=1, **months)  # type: ignore[arg-type]
    lines: list[str] = []
    sliced = build(fresh_wh, tmp_path / "sliced", project_id=2, progress=lines.append,
                   rows_per_read=37, **months)  # type: ignore[arg-type]  # fmt: skip
    assert sliced.rows == whole.rows > 0 and len(lines) == 14, lines  # 14 months with rows
    a = pq.read_table(whole.path / "accounts.parquet")
    b = pq.read_table(sliced.path / "accounts.parquet")
    facts = ["month", "institution_type", "product", "balance", "dpd", "status", "opened_month"]
    assert sorted(a.select(facts).to_pylist(), key=repr) == sorted(
        b.select(facts).to_pylist(), key=repr
    )
    for t in (a, b):  # one key per borrower and per account however the month was sliced
        assert pc.count_distinct(t.column("borrower")).as_py() == 240
    assert (
        pc.count_distinct(a.column("account")).as_py()
        == pc.count_distinct(b.column("account")).as_py()
    )
    for t in (a, b):  # each month's rows come sorted by key within their slices, slices in order
        months_col = t.column("month").to_pylist()
        assert months_col == sorted(months_col)


def test_expired_project_is_closed_its_data_destroyed_and_its_users_removed(
    jdx_home: Settings, registry: str, fresh_wh: Warehouse
) -> None:
    """``[lab] close_after_days`` after its end date the lab's check closes a project: not while
    a process runs as its user; then its extract and work are gone, its released outputs and
    request snapshots are root's alone, its users and group are removed, a request still in
    review is rejected, and the registry and the audit chain say so (docs/lab.md, Closing)."""
    from exchange.registry import outputs
    from sandbox.closing import close_due

    seed(fresh_wh, borrowers=40)
    with registry_db.session(registry) as db:
        people(db)
        p = apply_project(db, "ana")
    approve(jdx_home, fresh_wh, p.id)
    root = jdx_home.section(LabSettings).projects_dir
    assert root is not None
    pdir = root / str(p.id)
    user = pwd.getpwnam(f"jdx-lab-p{p.id}")
    (pdir / "work" / "model.py").write_text("print('a logit')\n")
    os.chown(pdir / "work" / "model.py", user.pw_uid, user.pw_gid)
    (pdir / "released" / "1").mkdir()
    (pdir / "released" / "1" / "table.csv").write_text("band,n\nA,12\n")
    with registry_db.session(registry) as db:
        waiting = outputs.record_request(
            db, project_id=p.id, requested_by="ana",
            files=[{"name": "t.csv", "sha256": "0" * 64, "outcome": "pass"}],
        )  # fmt: skip
    ended = p.ends_on
    with registry_db.session(registry) as db:
        projects.expire_due(db, actor="lab", today=ended + dt.timedelta(days=1))
    assert close_due(jdx_home, today=ended + dt.timedelta(days=30)) == []  # within 30 days

    kernel = subprocess.Popen(["sleep", "60"], user=user.pw_uid, group=user.pw_gid)
    try:
        later = ended + dt.timedelta(days=31)
        (first,) = close_due(jdx_home, today=later)
        assert not first.closed and str(kernel.pid) in first.waiting
        assert (pdir / "data" / "accounts.parquet").exists()
    finally:
        kernel.kill()
        kernel.wait()
    (done,) = close_due(jdx_home, today=later)
    assert done.closed and close_due(jdx_home, today=later) == []
    assert sorted(x.name for x in pdir.iterdir()) == ["released", "requests"]
    for path in (pdir, pdir / "released", pdir / "released" / "1" / "table.csv"):
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (0, 0) and st.st_mode & 0o077 == 0
    for name in (f"jdx-lab-p{p.id}", f"jdx-lab-p{p.id}-job"):
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
    with pytest.raises(KeyError):
        grp.getgrnam(f"jdx-lab-p{p.id}")
    with registry_db.session(registry, readonly=True) as db:
        assert projects.get(db, p.id).status.value == "closed"
        assert outputs.get(db, waiting.id).status.value == "rejected"
        (entry,) = [e for e in audit.entries(db) if e.action == "lab.project_close"]
    details = json.loads(entry.details) if isinstance(entry.details, str) else entry.details
    assert details["destroyed"]["data"]["files"] == 3  # accounts, sample, manifest
    assert details["destroyed"]["work"]["files"] >= 1 and details["rejected_requests"] == [
        waiting.id
    ]
    assert details["kept"]["released"] == {"files": 1, "bytes": len("band,n\nA,12\n")}
