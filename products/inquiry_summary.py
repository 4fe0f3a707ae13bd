"""The inquiry summary: a batch job's inquiry figures without reading the year of inquiries.

A batch job counts its borrowers' applications of the 7, 30, 90 and 365 days before its as-of
day. Counted from ``inquiries`` (ordered by borrower), a job of 100k borrowers among millions
finds one in every granule and reads the whole year: ~70 ms per million inquiries kept
(bench/batch_inquiries.py), and every batch row is one more. ``inquiry_summary`` (migration
0015) holds one row per borrower instead: the borrower's applications per China-time day and
member, for the :data:`DAYS_KEPT` days before a China-time midnight, its generation (``through``).

Invariants:

* :func:`build` writes a generation as one partition of ``inquiry_summary``, then records it in
  ``inquiry_summary_builds``; readers (:func:`current`) take the newest recorded generation, so a
  build killed half way is never read. The next build drops what is not recorded, and every
  generation but the newest two (a batch job that chose the one before may still be reading it).
* A generation ends at the midnight that *began yesterday* (China time), not today's: an inquiry
  is logged up to seconds after its time (the inquiry log's flush; a batch job logs its rows with
  its submission time, after it ran), so the day before is whole when the night's compaction
  builds. Each generation is built from ``inquiries`` afresh, so one logged later still (the
  journal of a server that crashed, replayed at its next start after a staff ``jdx warehouse
  compact``) is missed until the next night's generation, not for good.
* One generation a China-time day: a build that finds today's generation recorded does nothing
  (readers of it are never disturbed).
* A batch job uses the newest generation when it holds the job's 365-day window (as-of days from
  ``first_day + 364`` on), and ``inquiries`` alone otherwise (products.batch): both answer the
  same figures for the inquiries logged by the time the generation was built
  (tests/test_inquiry_summary.py).
* The generation just written is never dropped by its own build, even when the record read back
  lags (a replica of a cluster not yet caught up); a build that does not read its record back
  fails, and the scheduler's retry finds it recorded.
* One build of a generation at a time: within a process (``jdx serve``'s scheduler and its admin
  channel) by a lock, and across processes (several ``jdx serve`` against one ClickHouse server,
  each with its nightly scheduler) by a claim (``inquiry_summary_claims``, migration 0017)
  written before the build drops and writes the partition: the earliest claim of the last
  :data:`CLAIM_SECONDS` builds, the others wait for its record (up to ``wait`` seconds, then
  raise :class:`SummaryBusy`; the scheduler tries again, as the same claimant: one name per
  process). A build that died leaves a claim that lapses, and the next attempt after that takes
  the generation over.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from exchange.domain import CST
from exchange.errors import TransientError
from products.lookups.borrower import day_end_utc
from warehouse import Warehouse

#: days a generation holds: the 365-day window of as-of days from 37 days before its build on
DAYS_KEPT = 400
#: the generations kept: the newest and the one before (batch jobs that chose it may be reading)
KEEP = 2
#: the longest window a batch job counts
YEAR = 365
#: how long a build's claim on its generation holds: far longer than a build takes (~1.1 s per
#: million inquiries kept, bench/batch_inquiries.py), so only a build that died lets it lapse
CLAIM_SECONDS = 3600
#: how long a build waits for another process's build of the same generation
WAIT_SECONDS = 600.0
_POLL_SECONDS = 1.0
_BUILDING = threading.Lock()
#: this process's claims: one name for all its attempts, so a retry keeps its first claim's place
#: (a fresh name each time would queue behind the claims of its own earlier attempts)
_CLAIMANT = uuid.uuid4().hex
log = logging.getLogger(__name__)


class SummaryBusy(TransientError):
    """Another process holds the claim on the generation and has not recorded it in time (a
    staff command's transient error: its message reaches ``jdx warehouse compact``; the codes of
    products/ are the API's, products.errors)."""


@dataclass(frozen=True)
class Generation:
    """One recorded generation of ``inquiry_summary``."""

    through: dt.datetime  # naive UTC: a China-time midnight; inquiries before it are summarised
    first_day: dt.date  # the oldest China-time day it holds
    borrowers: int
    seconds: float = 0.0  # the build's time (0: read back, not built now)

    @property
    def partition(self) -> str:
        """Its partition id in ``inquiry_summary`` (``toUnixTimestamp(through)``)."""
        return str(int(self.through.replace(tzinfo=dt.UTC).timestamp()))

    def holds(self, as_of: dt.date) -> bool:
        """Whether it holds every day of ``as_of``'s 365-day window before ``through``."""
        return as_of - dt.timedelta(days=YEAR - 1) >= self.first_day

    def text(self) -> str:
        return self.through.strftime("%Y-%m-%d %H:%M:%S")


def through_for(now: dt.datetime) -> dt.datetime:
    """The generation built at ``now`` (aware): the China-time midnight that began yesterday, as
    naive UTC."""
    today = now.astimezone(CST).date()
    return day_end_utc(today - dt.timedelta(days=2))


def current(wh: Warehouse) -> Generation | None:
    """The newest recorded generation; None before the first build."""
    generations = kept(wh)
    return generations[0] if generations else None


def kept(wh: Warehouse) -> list[Generation]:
    """The recorded generations a build keeps (the newest :data:`KEEP`), newest first."""
    return [_generation(r) for r in wh.query("inquiry_summary_builds").dicts()[:KEEP]]


def build(wh: Warehouse, now: dt.datetime | None = None, wait: float = WAIT_SECONDS) -> Generation:
    """Build the generation of ``now`` (aware; default: now) unless it is recorded already, then
    drop the generations no longer needed. Returns the newest generation: built here
    (``seconds`` > 0), or found recorded — by an earlier build or by another process's, whose
    record this one waits for up to ``wait`` seconds (:class:`SummaryBusy` after that)."""
    with _BUILDING:  # the scheduler's night and a staff command at once: one after the other
        through = through_for(now or dt.datetime.now(dt.UTC))
        newest = _claimed(wh, through, wait)
        if newest is not None:
            _prune(wh)
            return newest
        return _build(wh, through)


def _claimed(wh: Warehouse, through: dt.datetime, wait: float) -> Generation | None:
    """None once this build holds the claim on ``through``'s generation; the newest generation
    if it is (or becomes, while another process builds it) recorded."""
    text = f"{through:%Y-%m-%d %H:%M:%S}"
    mine = _CLAIMANT
    claimed = waited = False
    deadline = time.monotonic() + wait
    while True:
        newest = current(wh)
        if newest is not None and newest.through >= through:
            return newest
        if not claimed:
            wh.execute("inquiry_summary_claim", through=text, build=mine)
            claimed = True
        holder = wh.query("inquiry_summary_claimant", through=text, valid=CLAIM_SECONDS).dicts()
        if holder and holder[0]["build"] == mine:
            return None
        if time.monotonic() >= deadline:
            since = f" since {holder[0]['claimed_at']:%Y-%m-%d %H:%M:%S} UTC" if holder else ""
            raise SummaryBusy(
                f"another process is building the inquiry summary through {text} UTC{since} and "
                f"has not recorded it within {wait:.0f} s; the next attempt waits for it again, "
                f"or builds it once that claim lapses ({CLAIM_SECONDS // 60} minutes after it)"
            )
        if holder and not waited:
            log.info("the inquiry summary through %s UTC is being built by another process; "
                     "waiting for its record", text)  # fmt: skip
            waited = True
        time.sleep(_POLL_SECONDS)


def _build(wh: Warehouse, through: dt.datetime) -> Generation:
    first_day = through.replace(tzinfo=dt.UTC).astimezone(CST).date() - dt.timedelta(days=DAYS_KEPT)
    made = Generation(through, first_day, 0)
    start = time.monotonic()
    wh.drop_partition("inquiry_summary", made.partition)  # a killed build's rows of it
    since = day_end_utc(first_day - dt.timedelta(days=1))
    wh.execute("inquiry_summary_build", through=made.text(), since=f"{since:%Y-%m-%d %H:%M:%S}")
    wh.execute("inquiry_summary_record", through=made.text(), first_day=first_day)
    seconds = time.monotonic() - start
    _prune(wh, made.partition)
    built = current(wh)
    if built is None or built.through != through:
        raise RuntimeError(f"the inquiry summary through {made.text()} was not recorded")
    return Generation(built.through, built.first_day, built.borrowers, seconds)


def _prune(wh: Warehouse, made: str | None = None) -> None:
    """Drop every partition of ``inquiry_summary`` but the newest :data:`KEEP` recorded ones and
    ``made`` (the one just built)."""
    keep = {g.partition for g in kept(wh)} | {made or ""}
    table = "inquiry_summary_local" if wh.cluster else "inquiry_summary"
    for (partition,) in wh.query("table_partitions", database=wh.database, table=table):
        if partition not in keep:
            wh.drop_partition("inquiry_summary", partition)


def _generation(row: dict[str, Any]) -> Generation:
    through = row["through"]
    if through.tzinfo is not None:
        through = through.astimezone(dt.UTC).replace(tzinfo=None)
    return Generation(through, row["first_day"], int(row["borrowers"]))
