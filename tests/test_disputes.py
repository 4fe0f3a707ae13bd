"""Dispute cases in the registry (:mod:`exchange.registry.disputes`): the 20-day clock on a moved
clock, the flags lookups read, and bad input refused with nothing changed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from exchange import audit
from exchange import registry as reg
from exchange.registry import db as registry_db
from exchange.registry import disputes
from exchange.registry.errors import DisputeNotFound, DisputeStateConflict, InvalidDispute
from exchange.settings import Settings
from products.disputes import DisputeBook
from runtime.scheduler import Scheduler

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
KEY = "ab" * 32


@pytest.fixture
def url(registry: str) -> str:
    with registry_db.session(registry) as db:
        for code in ("LENDA", "LENDB"):
            reg.add_member(db, code=code, name=code, type="MICROLOAN", actor="t")
    return registry


def _open(url: str, account: str = "D-1", at: dt.datetime = T0) -> disputes.DisputeInfo:
    with registry_db.session(url) as db:
        return disputes.open_case(
            db, member_code="LENDA", account_id=account, borrower_key=KEY,
            statement="not my loan", actor="staff", now=at,
        )  # fmt: skip


def test_the_clock_reminds_at_day_15_and_escalates_at_day_20_once(
    url: str, jdx_home: Settings
) -> None:
    case = _open(url)
    answered = _open(url, "D-2")
    with registry_db.session(url) as db:
        disputes.answer(db, answered.case_no, member_code="LENDA", outcome="corrected",
                        evidence="fixed", actor="api", now=T0)  # fmt: skip
    scheduler = Scheduler(jdx_home, wh=None)
    day = dt.timedelta(days=1)
    assert scheduler.dispute_clock(T0 + 15 * day - dt.timedelta(seconds=1)) == ([], [])
    assert scheduler.dispute_clock(T0 + 15 * day) == ([case.case_no], [])
    assert scheduler.dispute_clock(T0 + 19 * day) == ([], [])  # once
    with registry_db.session(url, readonly=True) as db:
        assert (
            disputes.list_cases(db, overdue=True, now=T0 + 20 * day - dt.timedelta(seconds=1)) == []
        )
    assert scheduler.dispute_clock(T0 + 20 * day) == ([], [case.case_no])
    assert scheduler.dispute_clock(T0 + 40 * day) == ([], [])
    with registry_db.session(url, readonly=True) as db:
        overdue = disputes.list_cases(db, overdue=True, now=T0 + 20 * day)
        steps = [e.action for e in audit.entries(db, obj=f"dispute:{case.case_no}")]
    assert [c.case_no for c in overdue] == [case.case_no]  # the answered one is not overdue
    assert steps == ["dispute.open", "dispute.remind", "dispute.escalate"]
    outbox = Path(jdx_home.home) / "members" / "LENDA" / "outbox"
    notices = sorted(p.name for p in outbox.iterdir())
    assert notices == [f"{case.case_no}.escalated.json", f"{case.case_no}.reminder.json"]
    escalated = json.loads((outbox / f"{case.case_no}.escalated.json").read_text())
    assert escalated["case"]["status"] == "open" and KEY not in json.dumps(escalated)


def test_bad_input_is_refused_and_changes_nothing(url: str) -> None:
    case = _open(url)
    with registry_db.session(url) as db:
        before = audit.count(db)
    attempts = [
        (DisputeNotFound, lambda db: disputes.answer(
            db, "DSP-ZZZZZZZZ", member_code="LENDA", outcome="verified", evidence="x", actor="a")),
        (DisputeNotFound, lambda db: disputes.answer(  # another member's case: not found
            db, case.case_no, member_code="LENDB", outcome="verified", evidence="x", actor="a")),
        (InvalidDispute, lambda db: disputes.answer(
            db, case.case_no, member_code="LENDA", outcome="maybe", evidence="x", actor="a")),
        (InvalidDispute, lambda db: disputes.answer(  # a mobile number in the evidence
            db, case.case_no, member_code="LENDA", outcome="verified", evidence="call 13800138000",
            actor="a")),
        (DisputeStateConflict, lambda db: disputes.open_case(  # the same account again
            db, member_code="LENDA", account_id="D-1", borrower_key=KEY, statement="again",
            actor="s")),
        (InvalidDispute, lambda db: disputes.open_case(
            db, member_code="LENDA", account_id="D-9", borrower_key="not-a-key", statement="x",
            actor="s")),
        (InvalidDispute, lambda db: disputes.open_case(
            db, member_code="LENDA", account_id="D-9", borrower_key=KEY,
            statement="my ID is 310104198001011234", actor="s")),
    ]  # fmt: skip
    for error, act in attempts:
        with pytest.raises(error), registry_db.session(url) as db:
            act(db)
    with registry_db.session(url) as db:
        disputes.answer(db, case.case_no, member_code="LENDA", outcome="verified",
                        evidence="records match the contract", actor="a")  # fmt: skip
    with pytest.raises(DisputeStateConflict), registry_db.session(url) as db:
        disputes.answer(db, case.case_no, member_code="LENDA", outcome="deleted",
                        evidence="x", actor="a")  # fmt: skip
    with registry_db.session(url, readonly=True) as db:
        got = disputes.get_case(db, case.case_no)
        assert audit.count(db) == before + 1  # only the one answer
    assert (got.status.value, got.outcome.value if got.outcome else None) == ("closed", "verified")


def test_the_lookup_flags_follow_each_committed_change_at_once(url: str) -> None:
    book = DisputeBook(url, refresh_seconds=3600)  # only this process's changes reload it
    assert book.open_for(KEY) == frozenset()
    case = _open(url)
    assert book.open_for(KEY) == {("LENDA", "D-1")}
    with registry_db.session(url) as db:
        disputes.answer(db, case.case_no, member_code="LENDA", outcome="deleted",
                        evidence="sent the D record", actor="api")  # fmt: skip
    assert book.open_for(KEY) == {("LENDA", "D-1")}  # answered: flagged until the D record loads
    with registry_db.session(url) as db:
        assert disputes.settle_loaded(db, "LENDA", {"D-1"}, why="test", actor="loader") == [
            case.case_no
        ]
    assert book.open_for(KEY) == frozenset()
