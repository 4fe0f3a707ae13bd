"""The loader against a real registry (SQLite) and a real embedded warehouse (chDB).

Each test gets its own registry and its own warehouse database (``fresh_wh``) in the module's
chDB directory; files are put into inboxes as the SFTP server leaves them. The SFTP path itself
is exercised in ``test_ingest_e2e.py``; crashes in ``test_loader_crash.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from loader_support import ARCHIVE_KEY, QUERIES, Exchange, make_exchange
from loanfiles import FILE_NAME, MEMBER, PEPPER, RIC, RIC_2, control_for, csv_bytes, record
from test_sftp import Landing, make_key, needs_openssh, start_server

from cli import Context
from exchange import audit
from exchange.registry import db as registry_db
from exchange.registry import list_submissions
from ingest.dq import member_score
from ingest.errors import LoaderBusy
from ingest.loader import LoaderConfig
from ingest.rules import BY_NAME
from ingest.sealed import Keyring, open_stream
from ingest.service import LoaderService
from simulator import FAULTS, simulate, write_files
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]  # wh, fresh_wh
EXTRA_QUERIES = QUERIES
BASE = "ACME_20250131_001"


@pytest.fixture
def ex(registry: str, fresh_wh: Warehouse, tmp_path: Path) -> Iterator[Exchange]:
    exchange = make_exchange(tmp_path / "members", registry, fresh_wh, control_grace=0)
    exchange.add_member(MEMBER)
    yield exchange


def clean_file(n: int = 3, name: str = FILE_NAME, **control: object) -> tuple[bytes, bytes]:
    records = [record(account_id=f"L-{i:04d}") for i in range(n)]
    data = csv_bytes(records)
    return data, control_for(name, data, n, **control)


# -- outcomes ------------------------------------------------------------------------------------


def test_clean_file_is_accepted_loaded_answered_and_archived(ex: Exchange) -> None:
    data, control = clean_file(3)
    ex.upload(MEMBER, FILE_NAME, data, control)
    [outcome] = ex.process()
    assert (outcome.status, outcome.records, outcome.accepted, outcome.rejected) == (
        "accepted",
        3,
        3,
        0,
    )
    receipt = ex.receipt(MEMBER, BASE)
    assert receipt["status"] == "accepted" and receipt["message"] == "all 3 records loaded"
    assert receipt["file"] == FILE_NAME and receipt["control"] == f"{BASE}.ctl"
    assert receipt["records"] == receipt["accepted"] == 3 and receipt["rejected"] == 0
    assert receipt["error_counts"] == {} and receipt["load_id"] == outcome.load_id
    assert receipt["dq_score"] == 100.0 and receipt["dq_below_threshold"] is False
    assert receipt["received_at"] == "2025-02-01T09:00:00.000000Z"
    assert ex.errors(MEMBER, BASE) == []  # header only
    header = (ex.root / MEMBER / "outbox" / f"{BASE}.errors.csv").read_text().splitlines()[0]
    assert header == '"line","account_id","field","code","severity","value","message"'

    counts = ex.counts(MEMBER)
    assert counts["states"] == counts["current"] == counts["months"] == 3
    assert counts["rejections"] == 0 and counts["dq"] > 0
    # nothing left in inbox/ or processing/; the member's files and the receipt archived
    area = ex.root / MEMBER
    assert list((area / "inbox").iterdir()) == [] and list((area / "processing").iterdir()) == []
    archived = area / "archive" / "2025" / "02" / BASE
    assert sorted(p.name for p in archived.iterdir()) == sorted(
        [f"{FILE_NAME}.enc", f"{BASE}.ctl", f"{BASE}.receipt.json", f"{BASE}.errors.csv"]
    )
    with (archived / f"{FILE_NAME}.enc").open("rb") as f:  # sealed at rest (ingest.sealed)
        assert b"".join(open_stream(f, Keyring(ARCHIVE_KEY), FILE_NAME)) == data
    [sub] = ex.rows("t_submissions", MEMBER)
    assert (sub["status"], sub["records"], sub["accepted"]) == ("accepted", 3, 3)
    with registry_db.session(ex.registry_url, readonly=True) as db:
        [ledger] = list_submissions(db, MEMBER)
        actions = [e.action for e in audit.entries(db, obj=f"submission:{outcome.load_id}")]
    assert ledger.status.value == "accepted" and ledger.load_id == outcome.load_id
    assert actions == ["ingest.receive", "ingest.load"]


def test_record_faults_are_each_reported_and_good_records_loaded(
    registry: str, fresh_wh: Warehouse, tmp_path: Path
) -> None:
    industry = simulate(members=6, borrowers=2_500, months=3, seed=11)
    files = write_files(
        industry, tmp_path / "files", last_months=2, error_rate=0.01, faults=["record"]
    )
    ex = make_exchange(tmp_path / "members", registry, fresh_wh, clock=dt.datetime.now(dt.UTC))
    for m in industry.members:
        ex.add_member(m.code, str(m.type))
    for month in sorted({f.file_date for f in files.files}):  # month by month: history first
        for f in (f for f in files.files if f.file_date == month):
            data = (tmp_path / "files" / f.data).read_bytes()
            control = (tmp_path / "files" / f.control).read_bytes()
            ex.upload(f.member, Path(f.data).name, data, control)
        ex.process()
    reported: dict[tuple[str, int], set[str]] = defaultdict(set)
    expected: dict[tuple[str, int], set[str]] = defaultdict(set)
    for f in files.files:
        base = Path(f.data).name.split(".")[0]
        receipt = ex.receipt(f.member, base)
        errors = ex.errors(f.member, base)
        for issue in errors:
            reported[(f.data, int(issue["line"]))].add(issue["code"])
        error_lines = {int(i["line"]) for i in errors if i["severity"] == "error"}
        assert receipt["rejected"] == len(error_lines), base
        assert receipt["accepted"] == f.records - len(error_lines), base
        assert receipt["status"] == ("partially_accepted" if error_lines else "accepted")
        loaded = {
            int(r["line"])
            for r in ex.rows("t_states", f.member)
            if r["load_id"] == receipt["load_id"]
        }
        assert len(loaded) == receipt["accepted"] and not loaded & error_lines, base
    for fault in files.faults:
        expected[(fault.file, fault.line)].add(BY_NAME[FAULTS[fault.kind].rule].code)
    assert len(files.faults) >= 24  # every record kind at least once
    for where, codes in expected.items():
        assert codes <= reported.get(where, set()), (where, codes, reported.get(where))


@pytest.mark.parametrize(
    ("case", "code"),
    [("checksum", "F106"), ("count", "F107"), ("member", "F102")],
)
def test_file_level_faults_reject_the_file_and_load_nothing(
    ex: Exchange, case: str, code: str
) -> None:
    name = "OTHER_20250131_001.loans.csv" if case == "member" else FILE_NAME
    data, control = clean_file(3, name)
    if case == "checksum":
        control = control_for(name, data, 3, sha256="0" * 64)
    if case == "count":
        control = control_for(name, data, 4)
    ex.upload(MEMBER, name, data, control)
    [outcome] = ex.process()
    base = name.split(".")[0]
    receipt = ex.receipt(MEMBER, base)
    assert outcome.status == receipt["status"] == "rejected"
    assert receipt["accepted"] == 0 and receipt["rejected"] == 3
    assert code in receipt["error_counts"] and code in receipt["message"]
    assert [i["code"] for i in ex.errors(MEMBER, base) if i["line"] == "0"] == [code]
    counts = ex.counts(MEMBER)
    assert counts["states"] == counts["current"] == counts["raw_states"] == 0
    assert counts["rejections"] >= 1
    assert ex.receipt(MEMBER, base)["dq"]["validity"] == 0.0


def test_same_file_twice_is_a_duplicate_and_counts_once(ex: Exchange) -> None:
    data, control = clean_file(3)
    ex.upload(MEMBER, FILE_NAME, data, control)
    [first] = ex.process()
    ex.upload(MEMBER, FILE_NAME, data, control)  # same name again
    other = "ACME_20250131_002.loans.csv"
    ex.upload(MEMBER, other, data, control_for(other, data, 3))  # same bytes, another name
    second, third = ex.process()
    assert (first.status, second.status, third.status) == ("accepted", "duplicate", "duplicate")
    # the original answer stays; the re-sent file's answer has its own names, sorting after it
    original = ex.receipt(MEMBER, BASE)
    assert original["status"] == "accepted" and original["load_id"] == first.load_id
    resend = f"{BASE}.resend-001"
    receipt = ex.receipt(MEMBER, resend)
    assert receipt["duplicate_of"] == first.load_id and receipt["accepted"] == 0
    assert receipt["records"] == 3 and first.load_id in receipt["message"]
    assert receipt["error_counts"] == {"F115": 1}
    assert receipt["errors_file"] == f"{resend}.errors.csv"
    assert [i["code"] for i in ex.errors(MEMBER, resend)] == ["F115"]
    assert ex.errors(MEMBER, BASE) == []
    outbox = sorted(p.name for p in (ex.root / MEMBER / "outbox").iterdir())
    assert outbox[:4] == [
        f"{BASE}.errors.csv",
        f"{BASE}.receipt.json",
        f"{resend}.errors.csv",
        f"{resend}.receipt.json",
    ]
    assert ex.receipt(MEMBER, "ACME_20250131_002")["status"] == "duplicate"
    counts = ex.counts(MEMBER)
    assert counts["states"] == counts["raw_states"] == 3  # nothing written twice
    archive = ex.root / MEMBER / "archive" / "2025" / "02"
    assert sorted(p.name for p in archive.iterdir()) == [
        BASE,
        f"{BASE}.{second.load_id}",
        "ACME_20250131_002",
    ]
    with registry_db.session(ex.registry_url, readonly=True) as db:
        statuses = [(s.status.value, s.duplicate_of) for s in list_submissions(db, MEMBER)]
    assert statuses == [
        ("duplicate", first.load_id),
        ("duplicate", first.load_id),
        ("accepted", None),
    ]


def test_a_rejected_file_may_be_sent_again_and_is_validated_afresh(ex: Exchange) -> None:
    data, _ = clean_file(2)
    ex.upload(MEMBER, FILE_NAME, data, control_for(FILE_NAME, data, 5))  # wrong count
    ex.upload(MEMBER, FILE_NAME, None, None)
    [bad] = ex.process()
    ex.upload(MEMBER, FILE_NAME, data, control_for(FILE_NAME, data, 2))  # corrected control
    [good] = ex.process()
    assert (bad.status, good.status) == ("rejected", "accepted")
    assert ex.counts(MEMBER)["states"] == 2


def test_control_file_without_data_is_rejected_after_the_grace_period(ex: Exchange) -> None:
    _, control = clean_file(2)
    ex.upload(MEMBER, FILE_NAME, None, control)
    [outcome] = ex.process()
    receipt = ex.receipt(MEMBER, BASE)
    assert outcome.status == receipt["status"] == "rejected"
    assert f"no data file {FILE_NAME} arrived" in receipt["message"]
    assert ex.counts(MEMBER)["states"] == 0


def test_nothing_happens_without_a_control_file_or_before_the_grace_period(
    registry: str, fresh_wh: Warehouse, tmp_path: Path
) -> None:
    ex = make_exchange(tmp_path / "members", registry, fresh_wh, control_grace=3600)
    ex.add_member(MEMBER)
    data, control = clean_file(2)
    ex.upload(MEMBER, FILE_NAME, data, None)  # data only: never read
    ex.upload("ZZZ", "ZZZ_20250131_001.loans.csv", data, control)  # no such member
    ex.upload(MEMBER, "ACME_20250131_009.loans.csv", None, control_for("x", data, 2))
    (ex.inbox(MEMBER) / f"{BASE}.ctl.tmp").write_bytes(control)  # still being uploaded
    batch = "ACME_20250131_005.batch.csv"  # a batch lookup: another stage's
    ex.upload(MEMBER, batch, b"id_type,id_number\n", control_for(batch, b"", 0))
    assert ex.process() == []
    assert sorted(p.name for p in ex.inbox(MEMBER).iterdir()) == sorted(
        [FILE_NAME, "ACME_20250131_009.ctl", f"{BASE}.ctl.tmp", batch, "ACME_20250131_005.ctl"]
    )
    assert len(list(ex.inbox("ZZZ").iterdir())) == 2


def test_a_correction_is_flagged_and_the_newer_state_stays_current(ex: Exchange) -> None:
    data = csv_bytes([record(account_id="L-1", dpd="0")])
    ex.upload(MEMBER, FILE_NAME, data, control_for(FILE_NAME, data, 1))
    older = csv_bytes([record(account_id="L-1", as_of_date="2025-01-15")])
    name = "ACME_20250205_001.loans.csv"
    ex.upload(MEMBER, name, older, control_for(name, older, 1, as_of="2025-01-15"))
    first, second = ex.process()
    assert (first.status, second.status) == ("accepted", "accepted")
    assert [i["code"] for i in ex.errors(MEMBER, "ACME_20250205_001")] == ["H504"]
    states = ex.rows("t_states", MEMBER)
    assert [(str(s["as_of_date"]), s["flags"]) for s in states] == [
        ("2025-01-15", ["H504"]),
        ("2025-01-31", []),
    ]
    [current] = ex.rows("t_current", MEMBER)
    assert current["as_of_date"] == dt.date(2025, 1, 31)


def test_a_d_record_deletes_the_account_from_its_whole_history(ex: Exchange) -> None:
    jan = csv_bytes(
        [
            record(account_id="L-1", as_of_date="2024-12-31"),
            record(account_id="L-1", as_of_date="2025-01-31"),
            record(account_id="L-2"),
        ]
    )
    ex.upload(MEMBER, FILE_NAME, jan, control_for(FILE_NAME, jan, 3))
    ex.process()
    assert [r["month"] for r in ex.rows("t_months", MEMBER) if r["account_id"] == "L-1"] == [
        dt.date(2024, 12, 1),
        dt.date(2025, 1, 1),
    ]
    delete = csv_bytes([record(record_type="D", account_id="L-1", as_of_date="2025-02-10")])
    name = "ACME_20250210_001.loans.csv"
    ex.upload(MEMBER, name, delete, control_for(name, delete, 1, as_of="2025-02-10"))
    [deleted] = ex.process()
    assert deleted.status == "accepted" and ex.errors(MEMBER, "ACME_20250210_001") == []
    assert [r["account_id"] for r in ex.rows("t_current", MEMBER)] == ["L-2"]
    assert {r["account_id"] for r in ex.rows("t_months", MEMBER)} == {"L-2"}
    # the account comes back for the right borrower (D, then A): no identity-change error
    again = csv_bytes(
        [record(account_id="L-1", id_number=RIC_2, name="李四", as_of_date="2025-02-28")]
    )
    name = "ACME_20250228_001.loans.csv"
    ex.upload(MEMBER, name, again, control_for(name, again, 1, as_of="2025-02-28"))
    [back] = ex.process()
    assert back.status == "accepted" and ex.errors(MEMBER, "ACME_20250228_001") == []
    current = {r["account_id"]: r for r in ex.rows("t_current", MEMBER)}
    assert set(current) == {"L-1", "L-2"} and current["L-1"]["as_of_date"] == dt.date(2025, 2, 28)
    assert current["L-1"]["borrower_key"] != current["L-2"]["borrower_key"]
    months = [(r["account_id"], r["month"]) for r in ex.rows("t_months", MEMBER)]
    assert ("L-1", dt.date(2025, 2, 1)) in months and ("L-1", dt.date(2025, 1, 1)) not in months
    # loan_states keeps the log: the A states, the D and the new A
    kinds = [(s["account_id"], s["record_type"]) for s in ex.rows("t_states", MEMBER)]
    assert kinds.count(("L-1", "A")) == 3 and ("L-1", "D") in kinds


def test_history_rules_read_the_last_loaded_state(ex: Exchange) -> None:
    overdue = {"status": "OVERDUE", "overdue_amount": "100.00", "overdue_principal": "50.00"}
    jan = csv_bytes(
        [
            record(account_id="L-1", dpd="30", negative_notice_date="2025-01-01", **overdue),
            record(account_id="L-2"),
        ]
    )
    ex.upload(MEMBER, FILE_NAME, jan, control_for(FILE_NAME, jan, 2))
    feb = csv_bytes(
        [
            # 28 days later: dpd may grow by 28; no notice needed, L-1 was negative before
            record(account_id="L-1", dpd="58", as_of_date="2025-02-28", **overdue),
            record(account_id="L-2", dpd="45", as_of_date="2025-02-28", **overdue),
        ]
    )
    name = "ACME_20250228_001.loans.csv"
    ex.upload(MEMBER, name, feb, control_for(name, feb, 2, as_of="2025-02-28"))
    ex.process()
    found = {(i["account_id"], i["code"]) for i in ex.errors(MEMBER, "ACME_20250228_001")}
    assert found == {("L-2", "H501"), ("L-2", "H505")}


def test_identity_change_is_rejected_against_history(ex: Exchange) -> None:
    jan = csv_bytes([record(account_id="L-1", id_number=RIC)])
    ex.upload(MEMBER, FILE_NAME, jan, control_for(FILE_NAME, jan, 1))
    feb = csv_bytes([record(account_id="L-1", id_number=RIC_2, as_of_date="2025-02-28")])
    name = "ACME_20250228_001.loans.csv"
    ex.upload(MEMBER, name, feb, control_for(name, feb, 1, as_of="2025-02-28"))
    first, second = ex.process()
    assert (first.status, second.status) == ("accepted", "rejected")
    [issue] = ex.errors(MEMBER, "ACME_20250228_001")
    assert issue["code"] == "H502" and RIC_2 not in issue["value"] + issue["message"]


# -- data quality --------------------------------------------------------------------------------


def test_dq_rows_score_and_jdx_dq_show(
    ex: Exchange, fresh_wh: Warehouse, jdx_home: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [record(account_id=f"L-{i}") for i in range(4)]
    records.append(record(account_id="L-9", consent_ref=""))  # V203
    records.append(record(account_id="L-8", id_number=RIC[:-1] + "0"))  # V213 (bad check digit)
    data = csv_bytes(records)
    ex.upload(MEMBER, FILE_NAME, data, control_for(FILE_NAME, data, 6))
    [outcome] = ex.process()
    receipt = ex.receipt(MEMBER, BASE)
    assert receipt["dq"] == {
        "completeness": round(5 / 6, 6),
        "validity": round(5 / 6, 6),
        "timeliness": 1.0,
        "consistency": 1.0,
        "identity": 1.0,
    }
    expected = 100 * (0.25 * 5 / 6 + 0.35 * 5 / 6 + 0.2 + 0.1 + 0.1)
    assert receipt["dq_score"] == pytest.approx(expected, abs=0.01) == outcome.dq_score
    dq = {
        (r["dimension"], r["field"]): (r["passed"], r["checked"]) for r in ex.rows("t_dq", MEMBER)
    }
    assert dq[("completeness", "")] == (5, 6) and dq[("completeness", "consent_ref")] == (5, 6)
    assert dq[("validity", "id_number")] == (5, 6) and dq[("timeliness", "arrival")] == (1, 1)
    assert member_score(fresh_wh, MEMBER, dt.date(2025, 1, 1)) == pytest.approx(90.0, abs=0.01)
    assert member_score(fresh_wh, MEMBER, dt.date(2025, 2, 1)) is None  # no day in the window

    monkeypatch.setenv("JDX_WAREHOUSE_DSN", f"chdb://{fresh_wh.path}")
    monkeypatch.setenv("JDX_WAREHOUSE_DATABASE", fresh_wh.database)
    from cli.serve import dq_group

    result = CliRunner().invoke(
        dq_group, ["show", MEMBER, "--days", "3660"], obj=Context(None), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"DQ of member {MEMBER} since")
    assert any(line.startswith("2025-01-31      1         6   90.0") for line in lines), (
        result.output
    )
    assert "score over the window: 90.0" in result.output
    assert "completeness  consent_ref" in result.output and "V213  error" in result.output
    as_json = CliRunner().invoke(
        dq_group, ["show", MEMBER, "--days", "3660", "--json"], obj=Context(None)
    )
    assert json.loads(as_json.output)["score"] == pytest.approx(90.0, abs=0.01)


def test_jdx_ingest_process_once(
    registry: str, fresh_wh: Warehouse, jdx_home: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.serve import ingest_group
    from exchange.settings import load_settings
    from ingest.settings import IngestSettings

    monkeypatch.setenv("JDX_WAREHOUSE_DSN", f"chdb://{fresh_wh.path}")
    monkeypatch.setenv("JDX_WAREHOUSE_DATABASE", fresh_wh.database)
    monkeypatch.setenv("JDX_PEPPER", PEPPER.hex())
    monkeypatch.setenv("JDX_ARCHIVE_KEY", ARCHIVE_KEY.hex())
    root = load_settings().section(IngestSettings).members_root
    assert root is not None
    ex = make_exchange(root, registry, fresh_wh)
    ex.add_member(MEMBER)
    data, control = clean_file(2)
    ex.upload(MEMBER, FILE_NAME, data, control)
    ex.upload(MEMBER, "ACME_20250131_002.loans.csv", None, control_for("x", data, 1))
    result = CliRunner().invoke(ingest_group, ["process", "--once"], obj=Context(None))
    assert result.exit_code == 0, result.output
    assert f"{MEMBER} {BASE}: accepted, 2 records, 2 accepted, 0 rejected" in result.output
    assert f"1 file(s) processed; files still waiting for: {MEMBER} (" in result.output
    assert os.path.exists(root / MEMBER / "outbox" / f"{BASE}.receipt.json")


# -- the service -----------------------------------------------------------------------------------


def test_one_loader_at_a_time_per_members_root(ex: Exchange) -> None:
    ex.loader.start_up()
    second = make_exchange(ex.root, ex.registry_url, ex.wh)
    with pytest.raises(LoaderBusy, match=f"another loader \\(pid {os.getpid()}\\)"):
        second.loader.start_up()
    ex.loader.close()
    second.loader.start_up()  # free again
    second.loader.close()


class _RecordingLoader:
    """Stands in for the Loader to check only the service's scheduling (the real loader runs
    in the tests above and behind `jdx serve` in test_ingest_e2e.py)."""

    def __init__(self, root: Path) -> None:
        self.stopping = threading.Event()
        self.config = LoaderConfig(members_root=root)
        self.lock = threading.Lock()
        self.active: set[str] = set()
        self.overlaps: list[str] = []
        self.calls: list[str] = []

    def start_up(self) -> int:
        return 0

    def close(self) -> None:
        pass

    def members_with_work(self) -> list[str]:
        return []

    def process_member(self, member: str) -> list[object]:
        with self.lock:
            if member in self.active:
                self.overlaps.append(member)
            self.active.add(member)
            self.calls.append(member)
        time.sleep(0.05)
        with self.lock:
            self.active.discard(member)
        return []


def test_loader_service_runs_one_thread_per_member_and_catches_up(tmp_path: Path) -> None:
    fake = _RecordingLoader(tmp_path)
    service = LoaderService(fake, threads=4, poll_interval=60)  # type: ignore[arg-type]
    service.start()
    try:
        for _ in range(5):
            for member in ("AAA", "BBB"):
                service.notify(member, tmp_path / member / "inbox" / "X_20250131_001.ctl")
                service.notify(member, tmp_path / member / "inbox" / "X.loans.csv")  # ignored
            time.sleep(0.02)
        assert service.wait_idle(10)
    finally:
        service.stop(5)
    assert fake.overlaps == []  # never two threads on one member
    # a member notified while busy is processed again afterwards; data files start nothing
    assert 2 <= fake.calls.count("AAA") <= 5 and 2 <= fake.calls.count("BBB") <= 5


def test_one_base_names_every_file_of_a_submission() -> None:
    from ingest.areas import base_name
    from ingest.parse import parse_file_name
    from ingest.sftp.control import ControlFile, parse_data_name

    for name in ("ACME_20250131_001.loans.csv", "ACME_20250131_007.loans.csv.gz"):
        parsed = parse_file_name(name)
        assert parsed is not None
        assert base_name(name) == parsed.base == parse_data_name(name).base
        control = ControlFile(file=name, sha256="0" * 64, records=0, as_of=dt.date(2025, 1, 31))
        assert control.name == f"{parsed.base}.ctl" and base_name(control.name) == parsed.base


# -- the archive at rest: sealed, opened on record, purged on record; orphan control files ------


def _landing(tmp_path: Path, home: Path, members: list[str]) -> Landing:
    """The real SFTP server over the loader's members root (``<home>/members``), OpenSSH keys
    for ``members``; its key lookup is a dict, the loader's registry is the real one."""
    keys = {m: make_key(tmp_path, f"key-{m}") for m in members}
    registry = {m: [k.public] for m, k in keys.items()}
    landing = Landing(server=None, home=home, keys=keys, registry=registry)  # type: ignore[arg-type]
    landing.server = start_server(home, registry, landing)
    return landing


def _send(landing: Landing, member: str, *files: Path) -> None:
    """Upload each file as ``x.tmp`` and rename it into inbox/, as ``jdx submit`` does."""
    commands = []
    for f in files:
        commands += [f"put {f} inbox/{f.name}.tmp", f"rename inbox/{f.name}.tmp inbox/{f.name}"]
    done = landing.openssh(member, *commands)
    assert done.returncode == 0, done.stderr


def _identities(data: bytes) -> set[bytes]:
    import csv
    import io

    rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return {
        r[c].encode() for r in rows for c in ("id_number", "name", "mobile") if r.get(c, "").strip()
    }


def _audit(registry_url: str, action: str) -> list[audit.Entry]:
    with registry_db.session(registry_url, readonly=True) as db:
        return [e for e in audit.entries(db) if e.action == action]


@needs_openssh
def test_archive_is_sealed_opens_to_the_bytes_sent_and_purge_deletes_only_expired(
    registry: str, fresh_wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.serve import ingest_group
    from exchange.settings import load_settings
    from ingest.archive import run_pass
    from ingest.settings import IngestSettings

    monkeypatch.setenv("JDX_ARCHIVE_KEY", ARCHIVE_KEY.hex())
    home = load_settings().home
    industry = simulate(members=6, borrowers=600, months=2, seed=5)
    files = write_files(industry, tmp_path / "files", last_months=2)
    member = industry.members[0]
    mine = sorted((f for f in files.files if f.member == member.code), key=lambda f: f.file_date)
    assert len(mine) == 2
    landing = _landing(tmp_path, home, [member.code])
    ex = make_exchange(home / "members", registry, fresh_wh)
    ex.add_member(member.code, str(member.type))
    now = dt.datetime.now(dt.UTC)
    sent: dict[str, bytes] = {}
    raw: set[bytes] = set()
    try:
        for f, received in zip(
            mine, (now - dt.timedelta(days=200), now - dt.timedelta(days=10)), strict=True
        ):
            data, control = tmp_path / "files" / f.data, tmp_path / "files" / f.control
            _send(landing, member.code, data, control)
            ex.loader.clock = functools.partial(lambda t: t, received)  # a moved clock
            [outcome] = ex.process()
            assert outcome.status == "accepted", outcome
            sent[data.name.split(".")[0]] = data.read_bytes()
            raw |= _identities(data.read_bytes())
    finally:
        landing.close_clients()
        landing.server.stop()
    assert len(raw) > 500

    # at rest: nothing in the archive holds a raw ID number, name or mobile
    area = home / "members" / member.code
    archived = sorted(p for p in (area / "archive").rglob("*") if p.is_file())
    assert [p.name for p in archived if p.name.endswith(".enc")] == sorted(
        f"{Path(f.data).name}.enc" for f in mine
    )
    for path in archived:
        content = path.read_bytes()
        assert not [v for v in raw if v in content], path.name
    assert list((area / "processing").iterdir()) == [] and list((area / "inbox").iterdir()) == []

    # an operator opens one for an investigation: the exact bytes sent, on record
    first, second = sorted(sent)
    out = tmp_path / "investigation" / "second.csv"
    result = CliRunner().invoke(
        ingest_group,
        ["archive", "open", member.code, second, "--out", str(out), "--reason", "case 42"],
        obj=Context(None),
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == sent[second] and "matches the receipt" in result.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    [opened] = _audit(registry, "ingest.archive.open")
    assert opened.details["reason"] == "case 42" and opened.object.startswith(
        f"archive:{member.code}/"
    )

    # purge: a dry run changes nothing; the pass deletes only the file past archive_days
    monkeypatch.setenv("JDX_INGEST_ARCHIVE_DAYS", "180")
    dry = CliRunner().invoke(ingest_group, ["purge-archive", "--dry-run"], obj=Context(None))
    assert dry.exit_code == 0, dry.output
    assert f"would delete {member.code} " in dry.output and f"{first}/" in dry.output
    assert "dry run: 1 data file(s) past 180 days to delete, 0 to seal, 1 kept" in dry.output
    assert _audit(registry, "ingest.archive.purge") == []
    purged = CliRunner().invoke(ingest_group, ["purge-archive"], obj=Context(None))
    assert purged.exit_code == 0, purged.output
    assert "1 data file(s) past 180 days deleted, 0 sealed, 1 kept" in purged.output
    left = {p.name for p in (area / "archive").rglob("*") if p.is_file()}
    assert f"{first}.ctl" in left and f"{first}.receipt.json" in left  # the answers stay
    assert not any(n.startswith(first) and n.endswith(".enc") for n in left)
    assert any(n.startswith(second) and n.endswith(".enc") for n in left)
    [entry] = _audit(registry, "ingest.archive.purge")
    assert entry.details["member"] == member.code and entry.details["age_days"] == 200
    assert entry.details["file"].startswith(first) and entry.details["archive_days"] == 180
    gone = CliRunner().invoke(
        ingest_group,
        ["archive", "open", member.code, first, "--out", str(tmp_path / "first.csv")],
        obj=Context(None),
    )
    assert gone.exit_code != 0 and "holds no data file any more" in str(gone.exception)

    # a clock moved on: the second file expires too (the loader service runs the same pass)
    settings = load_settings().section(IngestSettings)
    assert settings.members_root is not None
    later = run_pass(
        settings.members_root,
        Keyring(ARCHIVE_KEY),
        registry_url=registry,
        archive_days=180,
        now=now + dt.timedelta(days=171),
    )
    assert (later.count("purge"), later.kept) == (1, 0)
    assert len(_audit(registry, "ingest.archive.purge")) == 2
    with registry_db.session(registry, readonly=True) as db:
        assert audit.verify(db).ok


def test_archives_of_older_versions_and_previous_keys_are_sealed_by_the_pass(
    registry: str, tmp_path: Path
) -> None:
    from ingest.archive import open_archived, run_pass
    from ingest.sealed import file_key_id, key_id, seal_file

    root = tmp_path / "members"
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    data = csv_bytes([record(account_id="L-1")])
    legacy = root / MEMBER / "archive" / "2025" / "02" / BASE  # plain, as older versions left it
    legacy.mkdir(parents=True)
    (legacy / FILE_NAME).write_bytes(data)
    (legacy / f"{BASE}.ctl").write_bytes(control_for(FILE_NAME, data, 1))
    receipt = {"received_at": recent.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "load_id": "L1"}
    (legacy / f"{BASE}.receipt.json").write_text(json.dumps(receipt))
    old_key, new_key = bytes(32), ARCHIVE_KEY
    other = root / MEMBER / "archive" / "2025" / "03" / "ACME_20250228_001"
    other.mkdir(parents=True)
    (other / "plain.csv").write_bytes(data)
    seal_file(other / "plain.csv", other / "ACME_20250228_001.loans.csv.enc", Keyring(old_key))
    (other / "plain.csv").unlink()
    (other / "ACME_20250228_001.receipt.json").write_text(json.dumps(receipt))

    keys = Keyring(new_key, [old_key])
    report = run_pass(root, keys, registry_url=registry, archive_days=180, now=recent)
    assert sorted(a.kind for a in report.actions) == ["reseal", "seal"]
    assert sorted(p.name for p in legacy.iterdir()) == sorted(
        [f"{FILE_NAME}.enc", f"{BASE}.ctl", f"{BASE}.receipt.json"]
    )
    assert file_key_id(legacy / f"{FILE_NAME}.enc") == key_id(new_key)
    assert file_key_id(other / "ACME_20250228_001.loans.csv.enc") == key_id(new_key)
    assert len(_audit(registry, "ingest.archive.seal")) == 2
    again = run_pass(root, Keyring(new_key), registry_url=registry, archive_days=180, now=recent)
    assert (again.actions, again.kept) == ([], 2)  # the previous key is no longer needed
    out = tmp_path / "out.csv"
    opened = open_archived(
        root, MEMBER, "2025/03/ACME_20250228_001", out, Keyring(new_key), registry_url=registry,
        actor="test",
    )  # fmt: skip
    assert out.read_bytes() == data and opened.bytes == len(data)


def test_a_crash_while_archiving_leaves_nothing_plain_after_the_replay(
    ex: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import claims

    data, control = clean_file(3)
    ex.upload(MEMBER, FILE_NAME, data, control)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt("killed between sealing and the move into archive/")

    with monkeypatch.context() as m:
        m.setattr(claims, "archive", crash)
        with pytest.raises(KeyboardInterrupt):
            ex.process()
    claim = ex.root / MEMBER / "processing" / BASE
    assert f"{FILE_NAME}.enc" in {p.name for p in claim.iterdir()}
    assert FILE_NAME not in {p.name for p in claim.iterdir()}
    (claim / FILE_NAME).write_bytes(data)  # as if killed before the plain file was removed
    [outcome] = ex.process()  # the replay
    assert outcome.status == "accepted"
    names = sorted(p.name for p in outcome.archived.iterdir())
    assert names == sorted(
        [f"{FILE_NAME}.enc", f"{BASE}.ctl", f"{BASE}.receipt.json", f"{BASE}.errors.csv"]
    )
    with (outcome.archived / f"{FILE_NAME}.enc").open("rb") as f:
        assert b"".join(open_stream(f, Keyring(ARCHIVE_KEY), FILE_NAME)) == data
    assert ex.counts(MEMBER)["states"] == 3


@needs_openssh
def test_an_orphan_control_file_gets_its_coded_receipt_after_the_configured_time(
    registry: str, fresh_wh: Warehouse, tmp_path: Path
) -> None:
    from ingest.settings import IngestSettings

    cases = Path(__file__).parent / "cases" / "rules"
    manifest = json.loads((cases / "manifest.json").read_text(encoding="utf-8"))
    golden = next(c for c in manifest["cases"] if c["id"] == "F117-data-file-missing")
    home = tmp_path / "home"
    landing = _landing(tmp_path, home, [MEMBER])
    config = LoaderConfig.from_settings(IngestSettings(members_root=home / "members"))
    assert config.control_grace == 24 * 3600  # [ingest] orphan_control_hours' default
    ex = make_exchange(home / "members", registry, fresh_wh, control_grace=config.control_grace)
    ex.add_member(MEMBER)
    ctl = tmp_path / f"{BASE}.ctl"
    ctl.write_bytes((cases / golden["control"]).read_bytes())
    batch_ctl = tmp_path / "ACME_20250131_005.ctl"  # a batch lookup's: never an orphan here
    batch_ctl.write_bytes(control_for("ACME_20250131_005.batch.csv", b"", 0))
    try:
        _send(landing, MEMBER, ctl, batch_ctl)
    finally:
        landing.close_clients()
        landing.server.stop()
    arrived = dt.datetime.now(dt.UTC)
    inbox = home / "members" / MEMBER / "inbox"

    ex.loader.clock = lambda: arrived + dt.timedelta(hours=23, minutes=59)
    assert ex.process() == []  # still waiting
    # a restarted loader counts from the control file's arrival, not from its own start
    again = make_exchange(home / "members", registry, fresh_wh, control_grace=24 * 3600)
    again.loader.clock = lambda: arrived + dt.timedelta(hours=24, seconds=5)
    [outcome] = again.process()
    assert outcome.status == "rejected" and outcome.records == 0
    receipt = again.receipt(MEMBER, BASE)
    assert receipt["status"] == "rejected" and receipt["error_counts"] == {"F117": 1}
    assert f"no data file {FILE_NAME} arrived" in receipt["message"]
    issues = again.errors(MEMBER, BASE)
    assert [f"{i['line']} {i['code']} {i['field']}" for i in issues] == golden["expect"]
    assert issues[0]["value"] == FILE_NAME and "within 24 h" in issues[0]["message"]
    assert sorted(p.name for p in outcome.archived.iterdir()) == sorted(
        [f"{BASE}.ctl", f"{BASE}.receipt.json", f"{BASE}.errors.csv"]
    )
    assert sorted(p.name for p in inbox.iterdir()) == ["ACME_20250131_005.ctl"]
    again.loader.clock = lambda: arrived + dt.timedelta(days=30)
    assert again.process() == []  # the batch lookup's control file is never answered here
    # the data file arriving late is not read without a new control file
    (inbox / FILE_NAME).write_bytes(csv_bytes([record()]))
    assert again.process() == []


def test_the_loader_service_runs_the_archive_pass(ex: Exchange) -> None:
    from loader_support import RECEIVED

    data, control = clean_file(2)
    ex.upload(MEMBER, FILE_NAME, data, control)
    [outcome] = ex.process()
    sealed = outcome.archived / f"{FILE_NAME}.enc"
    assert sealed.exists()
    ex.loader.clock = lambda: RECEIVED + dt.timedelta(days=180)  # archive_days later
    service = LoaderService(ex.loader, threads=1, poll_interval=60, archive_every=3600)
    service.start()
    try:
        deadline = time.monotonic() + 30
        while sealed.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.stop(10)
    assert not sealed.exists() and (outcome.archived / f"{BASE}.receipt.json").exists()
    [entry] = _audit(ex.registry_url, "ingest.archive.purge")
    assert entry.actor == "loader" and entry.details["file"] == f"{FILE_NAME}.enc"


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 64 * 5, 1000])
def test_sealed_files_open_only_whole_and_unaltered(size: int) -> None:
    import io

    from ingest.errors import SealBroken, SealKeyUnknown
    from ingest.sealed import seal_stream

    keys = Keyring(ARCHIVE_KEY)
    plain = random.Random(size).randbytes(size)  # seeded: the same bytes on every run
    sealed = b"".join(seal_stream(iter([plain[:10], plain[10:]]), keys, chunk_size=64))
    assert b"".join(open_stream(io.BytesIO(sealed), keys, "f")) == plain
    # a few bytes may turn up in ciphertext by chance; 16 or more do not (2^-128 per place)
    assert size < 16 or plain not in sealed
    header = len(sealed) - size - 16 * (size // 64 + 1)
    tampered = [
        sealed[:-1] + bytes([sealed[-1] ^ 1]),  # a flipped bit in the last tag
        sealed[: header + 80],  # cut short at a chunk boundary (if there is one) or inside
        sealed + b"x" * 80,  # extended
        sealed[:12] + bytes([sealed[12] ^ 1]) + sealed[13:],  # the key id edited
    ]
    if size > 128:  # two chunks swapped
        tampered.append(sealed[:header] + sealed[header + 80 : header + 160] + sealed[header:header + 80] + sealed[header + 160 :])  # fmt: skip
    for bad in tampered:
        if bad == sealed:
            continue
        with pytest.raises((SealBroken, SealKeyUnknown)):
            b"".join(open_stream(io.BytesIO(bad), keys, "f"))
    with pytest.raises(SealKeyUnknown, match="archive_previous_keys"):
        b"".join(open_stream(io.BytesIO(sealed), Keyring(bytes(32)), "f"))
    with pytest.raises(SealBroken, match="not a sealed archive file"):
        b"".join(open_stream(io.BytesIO(plain + b"plain text"), keys, "f"))
