"""The scheduler of ``jdx serve``: which month's release is due when (China Standard Time)."""

from __future__ import annotations

import datetime as dt

import pytest

from exchange import registry as reg
from exchange.registry import db as registry_db
from exchange.registry import submissions
from runtime.config import load as load_settings
from runtime.scheduler import Scheduler, compaction_due, due

CST = dt.timezone(dt.timedelta(hours=8))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CST)


def test_the_previous_month_is_due_from_the_configured_day_and_time() -> None:
    assert due(at("2026-12-05 08:59"), 5, "09:00") is None
    assert due(at("2026-12-05 09:00"), 5, "09:00") == dt.date(2026, 11, 1)
    assert due(at("2026-12-20 03:00"), 5, "09:00") == dt.date(2026, 11, 1)  # still due, once
    assert due(at("2026-12-04 23:59"), 5, "09:00") is None
    assert due(at("2027-01-05 10:00"), 5, "09:00") == dt.date(2026, 12, 1)  # across the year


def test_the_day_is_read_on_the_china_calendar_and_zero_is_off() -> None:
    utc = dt.datetime(2026, 12, 5, 1, 30, tzinfo=dt.UTC)  # 09:30 in Beijing
    assert due(utc, 5, "09:00") == dt.date(2026, 11, 1)
    assert due(at("2026-12-28 12:00"), 0, "09:00") is None


def test_the_compaction_is_due_once_a_night_in_the_hour_after_its_time() -> None:
    """``[warehouse] compact_time``: from that time (China time) for an hour, once a day; a
    server started at noon does not merge then; empty is off. (tests/test_compaction.py runs it.)"""
    night = dt.date(2026, 12, 5)
    assert compaction_due(at("2026-12-05 03:29"), "03:30", None) is None
    assert compaction_due(at("2026-12-05 03:30"), "03:30", None) == night
    assert compaction_due(at("2026-12-05 04:29"), "03:30", None) == night
    assert compaction_due(at("2026-12-05 04:30"), "03:30", None) is None
    assert compaction_due(at("2026-12-05 12:00"), "03:30", None) is None
    assert compaction_due(at("2026-12-05 03:45"), "03:30", night) is None  # done this night
    assert compaction_due(at("2026-12-06 03:31"), "03:30", night) == dt.date(2026, 12, 6)
    utc = dt.datetime(2026, 12, 4, 19, 40, tzinfo=dt.UTC)  # 03:40 on 5 December in Beijing
    assert compaction_due(utc, "03:30", None) == night
    assert compaction_due(at("2026-12-05 03:30"), "", None) is None


def test_the_release_is_due_once_every_active_member_has_reported_the_month(
    registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[reports] release_when_complete``: November's release is due on 2 December once both
    active members that had joined by 30 November sent a file reaching it; a suspended member
    and one that joined in December are not waited for; a rejected file does not count."""
    monkeypatch.setenv("JDX_REPORTS_RELEASE_WHEN_COMPLETE", "true")
    settings = load_settings()
    scheduler = Scheduler(settings, wh=None)
    now = at("2026-12-02 10:00")
    with registry_db.session(registry) as db:
        for code, joined in (("AAA", "2025-01-01"), ("BBB", "2025-01-01"), ("CCC", "2025-01-01"),
                             ("NEW", "2026-12-01")):  # fmt: skip
            reg.add_member(db, code=code, name=code, type="MICROLOAN", joined=joined, actor="t")
        reg.suspend_member(db, "CCC", reason="test", actor="t")

    def report(code: str, as_of: str, status: str) -> None:
        with registry_db.session(registry) as db:
            got = submissions.receive(
                db, member_code=code, file_name=f"{code}_{as_of.replace('-', '')}_001.loans.csv",
                sha256=f"{code}{as_of}".ljust(64, "0"), file_date=None,
                as_of=dt.date.fromisoformat(as_of), actor="t",
            )  # fmt: skip
            submissions.start_loading(db, got.submission.load_id)
            submissions.finish(
                db, got.submission.load_id, status=status, records=1,
                accepted=int(status != "rejected"), rejected=int(status == "rejected"),
                warnings=0, dq_score=None, actor="t",
            )  # fmt: skip

    report("AAA", "2026-11-30", "accepted")
    report("BBB", "2026-11-29", "accepted")  # short of the month's last day
    report("BBB", "2026-11-30", "rejected")
    assert scheduler.month_due(now) is None
    report("BBB", "2026-12-01", "partially_accepted")  # a daily reporter, a day on
    assert scheduler.month_due(now) == (dt.date(2026, 11, 1), "all 2 active members reported "
                                        "through 2026-11-30")  # fmt: skip
    monkeypatch.setenv("JDX_REPORTS_RELEASE_WHEN_COMPLETE", "false")
    assert Scheduler(load_settings(), wh=None).month_due(now) is None  # off: day 0 is never due
