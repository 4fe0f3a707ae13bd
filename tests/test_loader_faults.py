"""Files that used to stop a member (or the exchange) are answered, and the member's queue goes on
(issue 17). The loader runs with its real child-process validator (:class:`IsolatedValidator`)
against a real chDB warehouse; nothing is mocked.

* a control file whose as_of the warehouse cannot store (9999-12-31), or a record dated 1965:
  refused before any write (F103, V205) instead of failing every insert forever;
* a gzip bomb and an endless line: refused as they stream (F118), the loader's own memory
  barely moves;
* a file whose validation needs more memory than ``validate_memory_mb``: the child is stopped,
  the file answered F120;
* a file the loader fails on ``max_attempts`` times: answered F121 and archived; the member's
  next file loads.
"""

from __future__ import annotations

import resource
import uuid
from pathlib import Path

import pytest
from loader_support import PEPPER, QUERIES, Exchange, big_file, make_exchange
from loanfiles import control_for, csv_bytes, gzip_bomb, record

from ingest.worker import ISSUES_FILE, ROWS_FILE, IsolatedValidator
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]

MEMBER = "ACME"
EXTRA_QUERIES = QUERIES  # test-only named queries (loader_support)


@pytest.fixture
def ex(tmp_path: Path, registry: str, wh: Warehouse) -> Exchange:
    exchange = make_exchange(tmp_path / "members", registry, wh)
    exchange.add_member(MEMBER)
    exchange.loader.validator = IsolatedValidator(PEPPER, memory_mb=2048)
    yield exchange
    exchange.loader.close()


def _good(seq: int) -> tuple[str, bytes, bytes]:
    """Three clean records of accounts no other test uses (the warehouse is shared)."""
    name = f"ACME_20250131_{seq:03d}.loans.csv"
    tag = uuid.uuid4().hex[:8]
    data = csv_bytes([record(account_id=f"G-{tag}-{i}") for i in range(3)])
    return name, data, control_for(name, data, 3)


def _statuses(ex: Exchange) -> dict[str, tuple[str, dict[str, int]]]:
    out = {}
    for path in sorted((ex.root / MEMBER / "outbox").glob("*.receipt.json")):
        r = ex.receipt(MEMBER, path.name.removesuffix(".receipt.json"))
        out[path.name.split(".")[0]] = (r["status"], r["error_counts"])
    return out


def test_poison_dates_are_refused_before_any_write_and_the_queue_goes_on(ex: Exchange) -> None:
    name = "ACME_20250131_001.loans.csv"
    data = csv_bytes([record(account_id="P-1")])
    ex.upload(MEMBER, name, data, control_for(name, data, 1, as_of="9999-12-31"))
    old = "ACME_20250131_002.loans.csv"
    dated = csv_bytes([record(account_id="P-2", opened_date="1965-06-15"), record()])
    ex.upload(MEMBER, old, dated, control_for(old, dated, 2))
    ex.upload(MEMBER, *_good(3))
    outcomes = ex.process()
    assert [o.status for o in outcomes] == ["rejected", "partially_accepted", "accepted"]
    statuses = _statuses(ex)
    assert statuses["ACME_20250131_001"] == ("rejected", {"F103": 1})
    assert statuses["ACME_20250131_002"] == ("partially_accepted", {"V205": 1})
    assert not list((ex.root / MEMBER / "processing").iterdir())  # nothing left claimed


def test_a_gzip_bomb_is_refused_as_it_streams(ex: Exchange) -> None:
    name = "ACME_20250131_001.loans.csv.gz"
    bomb = ex.inbox(MEMBER) / name
    gzip_bomb(bomb, 1024)  # 1 GiB of zeros in ≈ 1 MB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ex.upload(MEMBER, name, None, control_for(name, bomb.read_bytes(), 1))
    ex.upload(MEMBER, *_good(2))
    outcomes = ex.process()
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert [o.status for o in outcomes] == ["rejected", "accepted"]
    assert _statuses(ex)["ACME_20250131_001"] == ("rejected", {"F118": 1})
    assert grown_mib < 100, f"the loader's peak memory grew {grown_mib:.0f} MiB"


def test_a_file_needing_too_much_memory_is_stopped_and_answered(ex: Exchange) -> None:
    ex.loader.validator.close()
    ex.loader.validator = IsolatedValidator(PEPPER, memory_mb=256)
    name, data, control = big_file(60_000, member=MEMBER)
    ex.upload(MEMBER, name, data, control)
    ex.upload(MEMBER, *_good(2))
    before = ex.counts(MEMBER)["states"]
    outcomes = ex.process()
    assert [o.status for o in outcomes] == ["rejected", "accepted"]
    receipt = ex.receipt(MEMBER, "ACME_20250131_001")
    assert receipt["error_counts"] == {"F120": 1} and receipt["accepted"] == 0
    assert "256 MiB" in ex.errors(MEMBER, "ACME_20250131_001")[0]["message"]
    assert ex.counts(MEMBER)["states"] == before + 3  # the second file's records only


def test_a_file_failing_max_attempts_times_is_answered_and_archived(ex: Exchange) -> None:
    ex.loader.validator.close()
    ex.loader.validator = IsolatedValidator(PEPPER, memory_mb=2048, timeout=0.0)  # always fails
    ex.loader.config = type(ex.loader.config)(**{**ex.loader.config.__dict__, "max_attempts": 2})
    ex.upload(MEMBER, *_good(1))
    ex.upload(MEMBER, *_good(2))
    for _ in range(2):  # two failed attempts: the member's files wait (in order)
        with pytest.raises(Exception, match="longer than 0 s"):
            ex.loader.process_member(MEMBER)
    [claim] = (ex.root / MEMBER / "processing").iterdir()
    assert claim.name == "ACME_20250131_001"
    ex.loader.validator = IsolatedValidator(PEPPER, memory_mb=2048)  # the fault is gone …
    outcomes = ex.process()  # … but the first file used its attempts: answered, not retried
    assert [o.status for o in outcomes] == ["rejected", "accepted"]
    errors = ex.errors(MEMBER, "ACME_20250131_001")
    assert [e["code"] for e in errors] == ["F121"]
    assert "2 attempts" in errors[0]["message"] and "validation process" in errors[0]["message"]
    assert not list((ex.root / MEMBER / "processing").iterdir())
    archived = list((ex.root / MEMBER / "archive").rglob("ACME_20250131_001"))
    assert archived and not list(archived[0].glob(".attempts*"))


def test_rows_come_back_through_a_mapped_file_and_load_block_by_block(
    tmp_path: Path, registry: str, wh: Warehouse
) -> None:
    """The child hands its validated rows and its issues over as Arrow files beside the data
    file; the loader maps them, unlinks them at once and loads in blocks: the warehouse holds
    what the in-process validator with one block gives, and no such file is left in the claim or
    the archive."""
    recs = [record(account_id=f"K-{i}") for i in range(7)]
    recs[2].update(currency="XXX")  # rejected: the blocks skip it
    recs.append(record(record_type="D", account_id="K-5", as_of_date="2025-01-30"))
    name = "ACME_20250131_001.loans.csv"
    data = csv_bytes(recs)
    loaded = {}
    for member, block_rows, isolated in (("ACMA", 2, True), ("ACMB", 500_000, False)):
        ex = make_exchange(tmp_path / member, registry, wh, block_rows=block_rows)
        ex.add_member(member)
        if isolated:
            ex.loader.validator = IsolatedValidator(PEPPER, memory_mb=2048)
        mine = name.replace("ACME", member)
        ex.upload(member, mine, data, control_for(mine, data, len(recs)))
        [outcome] = ex.process()
        ex.loader.close()
        assert (outcome.status, outcome.accepted) == ("partially_accepted", 7)
        left = [
            p.name for p in (tmp_path / member).rglob("*") if p.name in (ROWS_FILE, ISSUES_FILE)
        ]
        assert not left
        loaded[member] = [
            {k: v for k, v in r.items() if k not in ("load_id", "load_seq")}
            for r in ex.rows("t_states", member)
        ]
    assert loaded["ACMA"] == loaded["ACMB"] and len(loaded["ACMA"]) == 7
