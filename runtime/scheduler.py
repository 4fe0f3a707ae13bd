"""Scheduled work inside ``jdx serve``: the monthly delinquency release, the nightly compaction.

On ``[reports] release_day`` of each month, from ``release_time`` (China Standard Time) on, the
scheduler builds the previous month's release if that month has none yet — once; a failure is
logged and tried again an hour later. With ``release_when_complete`` it builds it as soon as every
expected member's month has arrived (every active member that had joined by the month's last day
has a loaded file whose ``as_of`` reaches that day), even before ``release_day``. With
``release_day = 0`` and ``release_when_complete`` off (the defaults) releases are left to
``jdx report build``, which reaches the running server through the admin channel.

Once a day at ``[warehouse] compact_time`` (China time; within the hour after it, so a server
started at noon does not merge during the day) it merges the tables lookups and batch jobs read
into one part each (``warehouse.compact``, :mod:`products.compaction`); a failure is logged and
tried again ten minutes later within that hour, else the next night.

Every minute it also runs the disputes' clock (:func:`exchange.registry.disputes.run_clock`): a
case open 15 days gets a reminder, one open 20 days is escalated to the association's staff
(``jdx disputes list --overdue``); the member finds either notice in its outbox. The daily
archive pass runs in the loader service (:mod:`ingest.service`); members' DQ files are written
after each round of their files (:mod:`ingest.loader`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from exchange.domain import CST
from exchange.settings import Settings
from reports.settings import ReportSettings
from warehouse.settings import WarehouseSettings

log = logging.getLogger("jdx.scheduler")
ACTOR = "scheduler"
#: how long after ``[warehouse] compact_time`` the night's compaction may still start
COMPACT_WINDOW = dt.timedelta(hours=1)
#: a failed compaction is tried again this much later, within the window
COMPACT_RETRY = dt.timedelta(minutes=10)


def previous_month(now: dt.datetime) -> dt.date:
    """The first day of the month before ``now``'s month on the China calendar."""
    first = now.astimezone(CST).date().replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def compaction_due(now: dt.datetime, at: str, last: dt.date | None) -> dt.date | None:
    """The China-time day whose compaction is due at ``now``: from ``at`` (HH:MM; empty: never)
    for :data:`COMPACT_WINDOW`, unless ``last`` (the day of the last one) is that day."""
    if not at:
        return None
    local = now.astimezone(CST)
    hour, minute = (int(x) for x in at.split(":"))
    start = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if not start <= local < start + COMPACT_WINDOW or last == local.date():
        return None
    return local.date()


def due(now: dt.datetime, day: int, at: str) -> dt.date | None:
    """The month (first day) whose release is due at ``now`` (CST), or None."""
    local = now.astimezone(CST)
    hour, minute = (int(x) for x in at.split(":"))
    if (
        day == 0
        or local.day < day
        or (local.day == day and (local.hour, local.minute) < (hour, minute))
    ):
        return None
    return previous_month(now)


class Scheduler:
    """A :class:`runtime.services.Service`: checks once a minute what is due."""

    name = "scheduler"

    def __init__(self, settings: Settings, wh: Any, every: float = 60.0) -> None:
        self.settings = settings
        self.wh = wh
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_after: dt.datetime | None = None
        self._compacted: dt.date | None = None
        self._compact_retry: dt.datetime | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def describe(self) -> list[str]:
        cfg = self.settings.section(ReportSettings)
        when = []
        if cfg.release_when_complete:
            when.append("as soon as every active member has reported it")
        if cfg.release_day:
            when.append(f"on day {cfg.release_day} at {cfg.release_time} CST")
        release = f"the previous month's release {' or '.join(when)}" if when else "no releases"
        at = self.settings.section(WarehouseSettings).compact_time
        compaction = f"the lookups' tables merged daily at {at} CST" if at else "no compaction"
        return [f"scheduler: {release}; {compaction}; the disputes' 15- and 20-day clock"]

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            now = dt.datetime.now(dt.UTC)
            for job, name in ((self.dispute_clock, "the disputes' clock"),
                              (self.tick, "the release check"), (self.compact, "the compaction")):  # fmt: skip
                try:
                    job(now)
                except Exception as exc:  # logged; the next minute tries again
                    log.error("%s failed (%s)", name, type(exc).__name__)

    def compact(self, now: dt.datetime) -> bool:
        """Run the night's compaction if it is due at ``now``; whether it ran and succeeded.
        Once a day; a failure is logged and tried again :data:`COMPACT_RETRY` later while the
        window lasts, else the next night."""
        from runtime.commands import execute

        day = compaction_due(now, self.settings.section(WarehouseSettings).compact_time,
                             self._compacted)  # fmt: skip
        if day is None or (self._compact_retry is not None and now < self._compact_retry):
            return False
        try:
            execute(self.settings, self.wh, "warehouse.compact", {}, ACTOR,
                    lambda text: log.info("compaction: %s", text))  # fmt: skip
        except Exception as exc:
            self._compact_retry = now + COMPACT_RETRY
            log.error("the night's compaction failed (%s); tried again at %s CST if still within "
                      "the hour after compact_time", type(exc).__name__,
                      f"{self._compact_retry.astimezone(CST):%H:%M}")  # fmt: skip
            return False
        self._compacted, self._compact_retry = day, None
        return True

    def dispute_clock(self, now: dt.datetime) -> tuple[list[str], list[str]]:
        """Reminders (day 15) and escalations (day 20) due at ``now``, with their outbox
        notices; ``(reminded, escalated)`` case numbers."""
        from exchange.registry import db as registry_db
        from exchange.registry import disputes
        from ingest import disputes as area_disputes
        from ingest.areas import ensure_area
        from ingest.settings import IngestSettings

        with registry_db.session(self.settings.registry_url) as db:
            reminded, escalated = disputes.run_clock(db, actor=ACTOR, now=now)
        root = self.settings.section(IngestSettings).members_root
        assert root is not None
        for kind, cases in (("reminder", reminded), ("escalated", escalated)):
            for case in cases:
                area_disputes.notice(ensure_area(root, case.member_code), case, kind, now)
        for case in escalated:
            log.warning("dispute %s of %s unanswered after 20 days: escalated to staff",
                        case.case_no, case.member_code)  # fmt: skip
        return [c.case_no for c in reminded], [c.case_no for c in escalated]

    def month_due(self, now: dt.datetime) -> tuple[dt.date, str] | None:
        """The month whose release is due at ``now`` and why, or None (built or not yet due)."""
        from reports.months import month_key
        from reports.release import versions

        cfg = self.settings.section(ReportSettings)
        month = previous_month(now)
        assert cfg.releases_dir is not None
        if versions(cfg.releases_dir, month_key(month)):
            return None
        if due(now, cfg.release_day, cfg.release_time) == month:
            return month, f"release day {cfg.release_day}"
        if cfg.release_when_complete:
            from exchange.registry import db as registry_db
            from exchange.registry.submissions import not_yet_reported

            last_day = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            with registry_db.session(self.settings.registry_url, readonly=True) as db:
                expected, missing = not_yet_reported(db, last_day)
            if expected and not missing:
                return month, f"all {len(expected)} active members reported through {last_day}"
        return None

    def tick(self, now: dt.datetime) -> str | None:
        """Build what is due at ``now``; the month key built, if any."""
        from reports.months import month_key
        from runtime.commands import execute

        if self._retry_after is not None and now < self._retry_after:
            return None
        found = self.month_due(now)
        if found is None:
            return None
        month, why = found
        log.info("release of %s due: %s", f"{month:%Y-%m}", why)
        try:
            execute(self.settings, self.wh, "report.build", {"month": f"{month:%Y-%m}"}, ACTOR,
                    lambda text: log.info("scheduled release: %s", text))  # fmt: skip
        except Exception as exc:
            self._retry_after = now + dt.timedelta(hours=1)
            log.error("scheduled release of %s failed (%s); tried again in an hour", f"{month:%Y-%m}",
                      type(exc).__name__)  # fmt: skip
            return None
        return month_key(month)
