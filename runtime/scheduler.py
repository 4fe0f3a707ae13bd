"""Scheduled work inside ``jdx serve``: the monthly delinquency release.

On ``[reports] release_day`` of each month, from ``release_time`` (China Standard Time) on, the
scheduler builds the previous month's release if that month has none yet — once; a failure is
logged and tried again an hour later. ``release_day = 0`` (the default) leaves releases to
``jdx report build``, which reaches the running server through the admin channel. The daily
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

log = logging.getLogger("jdx.scheduler")
ACTOR = "scheduler"


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
    first = local.date().replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


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

    def start(self) -> None:
        if self.settings.section(ReportSettings).release_day:
            self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def describe(self) -> list[str]:
        cfg = self.settings.section(ReportSettings)
        if not cfg.release_day:
            return []
        return [f"scheduler: the previous month's release on day {cfg.release_day} at "
                f"{cfg.release_time} CST"]  # fmt: skip

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.tick(dt.datetime.now(dt.UTC))

    def tick(self, now: dt.datetime) -> str | None:
        """Build what is due at ``now``; the month key built, if any."""
        from reports.months import month_key
        from reports.release import versions
        from runtime.commands import execute

        cfg = self.settings.section(ReportSettings)
        month = due(now, cfg.release_day, cfg.release_time)
        if month is None or (self._retry_after is not None and now < self._retry_after):
            return None
        assert cfg.releases_dir is not None
        if versions(cfg.releases_dir, month_key(month)):
            return None
        try:
            execute(self.settings, self.wh, "report.build", {"month": f"{month:%Y-%m}"}, ACTOR,
                    lambda text: log.info("scheduled release: %s", text))  # fmt: skip
        except Exception as exc:
            self._retry_after = now + dt.timedelta(hours=1)
            log.error("scheduled release of %s failed (%s); tried again in an hour", f"{month:%Y-%m}",
                      type(exc).__name__)  # fmt: skip
            return None
        return month_key(month)
