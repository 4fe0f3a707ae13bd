"""The inquiry log: every lookup becomes a row of the warehouse's ``inquiries`` table and part of
an audit-chain entry, counts in the next answer at once, and reaches the lookups' read path only
as merged counts (``inquiry_counts``, migration 0006, and ``borrower_lookup``'s partitions of
counts, 0014: today's and the archive's), never as a tiny part per flush or per fold.

Why not one warehouse insert per lookup: an insert into a MergeTree costs 5–10 ms on chDB (a new
part on disk each time), more than the whole lookup budget, and hundreds of tiny parts a second
would slow every read. So:

1. :meth:`InquiryLog.record` appends the row to a journal file (one JSON line, flushed to the
   operating system before the answer is sent) and keeps it in memory, where
   :meth:`InquiryLog.overlay` returns it to the next lookup of the same borrower (read-your-writes
   at once within this process).
2. A writer thread moves the journal to ``inquiries`` every ``inquiry_flush_seconds``: it rotates
   the journal segment, inserts its rows in one insert, appends **one** audit entry
   (``lookup.log``) naming every inquiry id of the group, and deletes the segment. ``inquiries``
   is the record (billing, self-reports, batch figures); lookups do not read it.
3. Every ``inquiry_fold_seconds`` the writer *folds*: it picks ``to``, the start of the minute
   :data:`FOLD_LAG` ago, from then on stamps new rows no earlier than ``to``, flushes, and counts
   every single lookup of the whole minutes ``[watermark, to)`` from ``inquiries`` (its last
   days' copy ``inquiries_recent``, :func:`inquiry_source`) into
   ``inquiry_counts`` (named statement ``inquiry_counts_fold``, one insert; its view copies the
   counts into ``borrower_lookup`` as a small part of their day's partition, migration 0014: the
   accounts' part is never rewritten for them). Only then, under the lock the readers take,
   ``watermark`` becomes ``to`` and the rows before it leave memory. Last, outside the lock, the
   fold merges today's partition of counts into one part (a day's counts: cheap) and moves the
   days that ended :data:`MOVE_AFTER` ago into the archive partition, which it then merges —
   once a day, the one merge that rewrites every count kept (2.8 s at 3M counts,
   bench/inquiry_fold.py). So a lookup reads three parts whatever the counts kept: the
   accounts', the archive's and today's (and yesterday's in the day's first hour; each part of
   counts more costs it ~0.2 ms, docs/benchmarks.md). The folds of :meth:`start` and
   :meth:`stop` neither merge nor move, so serving never waits for the move or the archive's
   merge; :meth:`start` merges the recent days' partitions only (a restart's parts of today's
   counts: a day's counts, ~0.1 s per 80k).
   A reader takes ``(watermark, its borrower's rows)`` under that lock
   *before* its query and counts the warehouse's single-lookup counts of minutes before
   ``watermark`` only: every lookup is counted exactly once, from the warehouse or from memory.
4. :meth:`start` replays segments left by a crash (``inquiries`` is a ReplacingMergeTree keyed by
   ``(borrower_key, queried_at, inquiry_id)``, so a replay never writes a lookup twice) and folds
   from the watermark of the last fold (kept in ``<journal>/folded``; without it, from the last
   minute ``inquiry_counts`` holds). Folding minutes again writes the same keys with a higher
   version, so a fold repeated after a crash counts nothing twice. A process crash loses nothing
   that was answered; an operating-system crash may lose the last unsynced journal lines (the
   journal is not fsynced per line, by design of the latency goal).

Batch jobs call :meth:`record_batch`: their rows (up to 100k) go to ``inquiries`` in one insert,
their counts to ``inquiry_counts`` in another (source ``batch:<job>``: the fold leaves batch rows
alone), with one audit entry per job (``batch.lookup``), before the job is marked done. Their
part of counts in ``borrower_lookup`` (the partition of the job's day) is merged in by the next
fold, or moved into the archive when that day is over.

Nothing raw is journalled: rows hold the borrower key (a keyed hash), never an id number or name.
Against a ClickHouse server with several API processes, each folds the minutes it logged into
after flushing them (a later fold of a minute includes what another process flushed since), so
another process sees a lookup after its next fold (≤ ``inquiry_fold_seconds`` + a minute), not at
once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from exchange import audit
from exchange.domain import CST
from exchange.registry import db as registry_db
from products.lookups.borrower import Inquiry
from warehouse import Warehouse, WarehouseError

log = logging.getLogger(__name__)

COLUMNS = (
    "borrower_key", "queried_at", "inquiry_id", "member_code", "member_type", "product", "purpose",
    "consent_ref", "api_key_id", "batch_id",
)  # fmt: skip
_TS = pa.timestamp("ms", tz="UTC")
SCHEMA = pa.schema([(c, _TS if c == "queried_at" else pa.string()) for c in COLUMNS])
#: A fold counts the whole minutes that ended at least this long ago.
FOLD_LAG = dt.timedelta(seconds=5)
EPOCH = dt.datetime(1970, 1, 1)
#: ``borrower_lookup``'s archive of inquiry counts (kind C rows with ``as_of_date`` 1970-01-01,
#: migration 0014); a day's counts are the partition ``YYYYMMDD`` of their day until moved there
ARCHIVE_PARTITION = "19700101"
#: A day's counts move into the archive this long after the day ended (China time), when the
#: folds of every API process (≤ their fold interval and a minute late) have counted it. A count
#: written to the day later still (a batch job is stamped with its submission time and may wait
#: in the queue, or run again after a restart) lands in the day's partition again, moved by the
#: next fold; one written during a move is copied again from ``inquiry_counts``.
MOVE_AFTER = dt.timedelta(hours=1)
#: ``inquiries_recent`` (migration 0019) holds every inquiry of the last 8 days by the engine's
#: clock, partitioned by day; a reader bounded below by a time at most this old reads it instead
#: of ``inquiries``' month partitions (a day's margin for the engine's clock against this one's)
RECENT_READ = dt.timedelta(days=7)


@dataclass(frozen=True)
class InquiryRow:
    """One logged lookup (the ``inquiries`` columns)."""

    borrower_key: str
    queried_at: dt.datetime  # aware UTC, millisecond precision
    inquiry_id: str
    member_code: str
    member_type: str
    product: str
    purpose: str
    consent_ref: str
    api_key_id: str
    batch_id: str = ""

    def as_inquiry(self) -> Inquiry:
        return Inquiry(
            self.queried_at, self.member_code, self.member_type, self.product, self.purpose,
            self.inquiry_id,
        )  # fmt: skip


def _current_day(now: dt.datetime) -> dt.date:
    """The oldest China-time day whose counts stay a partition of their own at ``now`` (naive
    UTC): the day :data:`MOVE_AFTER` ago. Earlier days move into the archive."""
    return (now - MOVE_AFTER).replace(tzinfo=dt.UTC).astimezone(CST).date()


def now_ms() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    return str(uuid.uuid4())


def inquiry_source(start: dt.datetime) -> str:
    """The table to read the inquiries from ``start`` (naive UTC) on: ``inquiries_recent`` when
    it holds them all, else ``inquiries``. By the real clock, never a test's: the view that fills
    the table and its TTL run on the engine's. Its rows from ``start`` on are complete because
    its view kept every row no older than 8 days when written, and a row from ``start`` on was
    no older than 7 then (it was written before now); its TTL drops only rows older than 8 days,
    all before ``start``."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return "inquiries_recent" if start >= now - RECENT_READ else "inquiries"


def _text(at: dt.datetime) -> str:
    """A naive UTC time as the fold statement's parameters take it."""
    return at.strftime("%Y-%m-%d %H:%M:%S.000")


def rows_table(rows: Sequence[InquiryRow]) -> pa.Table:
    return pa.table(
        {c: pa.array([getattr(r, c) for r in rows], SCHEMA.field(c).type) for c in COLUMNS},
        schema=SCHEMA,
    )


def batch_counts(table: pa.Table, batch_id: str) -> pa.Table:
    """``inquiry_counts`` rows of a batch job's inquiry rows (every row has the job's time, so
    one count per borrower; source ``batch:<job>``, slot the time's minute)."""
    grouped = table.group_by(
        ["borrower_key", "member_code", "member_type", "product", "purpose"]
    ).aggregate([("queried_at", "count"), ("queried_at", "min")])
    n = grouped.num_rows
    first = grouped["queried_at_min"]
    at = first[0].as_py() if n else dt.datetime.now(dt.UTC)
    local = at.astimezone(CST)
    slot = at.replace(second=0, microsecond=0)
    return pa.table(
        {
            "borrower_key": grouped["borrower_key"],
            "day": pa.array([local.date()] * n, pa.date32()),
            "member_code": grouped["member_code"],
            "member_type": grouped["member_type"],
            "product": grouped["product"],
            "purpose": grouped["purpose"],
            "night": pa.array([int(local.hour >= 22 or local.hour < 6)] * n, pa.uint8()),
            "source": pa.array([f"batch:{batch_id}"] * n, pa.string()),
            "slot": pa.array([slot] * n, pa.timestamp("s", tz="UTC")),
            "inquiries": pc.cast(grouped["queried_at_count"], pa.uint32()),
            "first_at": first,
            "version": pa.array([int(time.time() * 1000)] * n, pa.uint64()),
        }
    )


class InquiryLog:
    """Journal + memory + writer thread (see the module invariants)."""

    def __init__(
        self,
        wh: Warehouse,
        registry_url: str,
        journal_dir: Path,
        flush_seconds: float,
        fold_seconds: float = 60,
    ) -> None:
        self._wh = wh
        self._registry = registry_url
        self._dir = journal_dir
        self._interval = flush_seconds
        self._fold_interval = fold_seconds
        #: single lookups of minutes before this (naive UTC) are in inquiry_counts
        self._watermark = EPOCH
        #: new rows are stamped no earlier than this (the ``to`` of a fold under way)
        self._floor = EPOCH
        self._lock = threading.Lock()
        self._flush_lock = threading.RLock()  # fold() flushes under it
        self._pending: dict[str, list[InquiryRow]] = {}
        self._segment_rows: list[InquiryRow] = []
        self._seq = itertools.count()
        self._file: Any = None
        self._path: Path | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unaudited: list[str] = []
        #: segments closed but not yet in the warehouse, oldest first (touched under _flush_lock)
        self._closed: list[tuple[Path, list[InquiryRow]]] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self._dir, 0o700)
        self._replay()
        self._watermark = self._folded()
        with self._lock:
            self._open_segment()
        self.fold(merge=False)
        self._merge_recent()  # today's parts; the move and the archive's merge: the writer's folds
        self._load_unfolded()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="jdx-inquiry-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()
        try:
            self.fold(merge=False)
        except Exception:  # the next start folds these minutes
            log.exception("inquiry log fold at stop failed; the next start folds again")
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
                if self._path is not None and not self._segment_rows:
                    self._path.unlink(missing_ok=True)

    def _run(self) -> None:
        next_fold = time.monotonic() + self._fold_interval
        while not self._stop.wait(min(self._interval, max(0.0, next_fold - time.monotonic()))):
            try:
                if time.monotonic() >= next_fold:
                    next_fold = time.monotonic() + self._fold_interval
                    self.fold()
                else:
                    self.flush()
            except Exception:  # keep the writer alive; the journal keeps the rows
                log.exception("inquiry log write failed; rows stay in the journal and memory")

    # -- recording -----------------------------------------------------------------------------

    def record(self, row: InquiryRow) -> None:
        """Journal one lookup and make it visible to the next answer at once.

        A row stamped before the minutes a fold under way counts (a request stalled between its
        stamp and here) is stamped at that fold's end instead, so the fold never misses it."""
        with self._lock:
            if self._file is None:
                raise RuntimeError("the inquiry log is not started")
            floor = max(self._floor, self._watermark).replace(tzinfo=dt.UTC)
            if row.queried_at < floor:
                row = dataclasses.replace(row, queried_at=floor)
            line = json.dumps([getattr(row, c) if c != "queried_at" else row.queried_at.isoformat()
                               for c in COLUMNS], separators=(",", ":"))  # fmt: skip
            self._file.write(line + "\n")
            self._file.flush()
            self._segment_rows.append(row)
            self._pending.setdefault(row.borrower_key, []).append(row)

    def pending_for(self, borrower_key: str) -> list[Inquiry]:
        """The borrower's logged lookups not yet folded into ``inquiry_counts``."""
        return self.overlay(borrower_key)[1]

    def overlay(self, borrower_key: str) -> tuple[dt.datetime, list[Inquiry]]:
        """``(watermark, rows)``: single lookups of minutes before ``watermark`` (naive UTC) are
        counted in ``inquiry_counts``; ``rows`` are the borrower's lookups after it. Take it
        before reading the warehouse (module invariant 3)."""
        with self._lock:
            return self._watermark, [r.as_inquiry() for r in self._pending.get(borrower_key, ())]

    def record_batch(
        self, table: pa.Table, *, batch_id: str, member_code: str, actor: str, digest: str
    ) -> None:
        """Insert a batch job's inquiry rows and one audit entry for the job.

        ``digest`` is the SHA-256 of the job's inquiry ids (16 bytes each, in row order), so the
        entry pins exactly which rows the job logged.
        """
        if table.num_rows:
            self._wh.insert_arrow("inquiries", table)
            self._wh.insert_arrow("inquiry_counts", batch_counts(table, batch_id))
        with registry_db.session(self._registry) as db:
            audit.append(
                db,
                actor=actor,
                action="batch.lookup",
                obj=f"batch:{batch_id}",
                details={"member": member_code, "count": table.num_rows, "ids_sha256": digest},
            )

    # -- writing -------------------------------------------------------------------------------

    def _open_segment(self) -> None:
        self._path = self._dir / f"journal-{os.getpid()}-{next(self._seq):08d}.jsonl"
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def flush(self) -> int:
        """Move the closed segments to the warehouse; return the rows written.

        A segment whose insert fails stays on disk and in memory and is retried first at the
        next flush, in order, so lookups stay visible and nothing is written twice by this path.
        """
        with self._flush_lock:
            with self._lock:
                if self._segment_rows and self._file is not None:
                    self._file.close()
                    assert self._path is not None
                    self._closed.append((self._path, self._segment_rows))
                    self._segment_rows = []
                    self._open_segment()
            written = 0
            while self._closed:
                path, rows = self._closed[0]
                self._write(rows)
                self._closed.pop(0)
                path.unlink(missing_ok=True)
                written += len(rows)
            return written

    def fold(self, now: dt.datetime | None = None, merge: bool = True) -> int:
        """Count the whole minutes since the watermark into ``inquiry_counts`` (module invariant
        3); return the rows that left memory. ``now`` (naive UTC): the clock, for tests.
        ``merge=False``: no merge or move of counts (:meth:`start` and :meth:`stop` do not wait
        for them: the archive's merge takes seconds per million counts kept)."""
        with self._flush_lock:
            now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
            to = (now - FOLD_LAG).replace(second=0, microsecond=0)
            with self._lock:
                start = self._watermark
                if to <= start:
                    return 0
                self._floor = to
            self.flush()
            self._wh.execute(
                "inquiry_counts_fold", source=inquiry_source(start), start=_text(start),
                end=_text(to),
                version=int(now.replace(tzinfo=dt.UTC).timestamp() * 1000),
            )  # fmt: skip
            (self._dir / "folded").write_text(to.isoformat() + "\n", encoding="utf-8")
            cut = to.replace(tzinfo=dt.UTC)
            dropped = 0
            with self._lock:
                self._watermark = to
                for key in list(self._pending):
                    rows = self._pending[key]
                    left = [r for r in rows if r.queried_at >= cut]
                    dropped += len(rows) - len(left)
                    if left:
                        self._pending[key] = left
                    else:
                        del self._pending[key]
        if merge:
            with self._flush_lock:  # stop() waits for a merge under way (its flush takes the lock)
                self._merge_counts(_current_day(now))
        return dropped

    def _merge_recent(self) -> None:
        """At start: merge the recent days' partitions of counts (today's, and yesterday's in the
        day's first hour), which a restart leaves in several parts — the last folds before the
        stop, batch jobs' — and every lookup would read them so until the writer's first fold, a
        fold interval later. A day's counts: ~0.1 s per 80k (bench/inquiry_fold.py). The move
        and the archive's merge (seconds per million counts kept) are left to the writer's
        folds. A failed merge does not stop the start: the writer's next fold merges again."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        try:
            with self._flush_lock:
                self._merge_counts(_current_day(now), move=False)
        except WarehouseError as exc:
            log.warning("merging today's inquiry counts at start failed (%s %s); the next fold "
                        "merges", exc.code, exc.server_name or "")  # fmt: skip

    def _merge_counts(self, current: dt.date, move: bool = True) -> None:
        """The fold's counts reached ``borrower_lookup`` as a small part of their day's partition
        (its view; migration 0014): merge the partitions of ``current`` (the China-time day
        :data:`MOVE_AFTER` ago) and after it into one part each (a day's counts), move each
        earlier day's into the archive and, when a day moved, merge the archive into one part —
        once a day. A lookup reads the accounts' part, the archive's and today's (and yesterday's
        in the day's first hour). A move copies the day's partition into the archive (no moment
        without the day's counts), drops the partition, and copies the day again from
        ``inquiry_counts``, which catches a count written to the day between copy and drop.
        ``move=False``: the recent days' merges only."""
        moved = False
        for row in self._wh.query("lookup_count_days"):
            day: dt.date = row[0]
            if day < current:
                if not move:
                    continue
                self._wh.execute("lookup_counts_archive_day", day=day)
                self._wh.drop_partition("borrower_lookup", f"{day:%Y%m%d}")
                self._wh.execute("lookup_counts_archive_counted", day=day)
                moved = True
            else:
                self._wh.optimize("borrower_lookup", partition_id=f"{day:%Y%m%d}")
        if moved:
            self._wh.optimize("borrower_lookup", partition_id=ARCHIVE_PARTITION)

    def _load_unfolded(self) -> None:
        """At start: the lookups logged after the watermark (by this process before a restart,
        replayed from its journal) into memory, since no fold has counted them yet."""
        start = _text(self._watermark)
        rows = [
            InquiryRow(**dict(zip(COLUMNS, r, strict=True)))
            for r in self._wh.query(
                "inquiries_since", source=inquiry_source(self._watermark), start=start
            )
        ]
        with self._lock:
            held = {r.inquiry_id for rows_ in self._pending.values() for r in rows_}
            for r in rows:
                if r.inquiry_id not in held:
                    at = r.queried_at.replace(tzinfo=dt.UTC)
                    self._pending.setdefault(r.borrower_key, []).append(
                        dataclasses.replace(r, queried_at=at)
                    )

    def _folded(self) -> dt.datetime:
        """Where the last fold ended: ``<journal>/folded``, else after the last minute counted."""
        try:
            return dt.datetime.fromisoformat((self._dir / "folded").read_text().strip())
        except (OSError, ValueError):
            pass
        last = self._wh.query("inquiry_counts_folded").one()["folded"].replace(tzinfo=None)
        return EPOCH if last <= EPOCH else last + dt.timedelta(minutes=1)

    def _write(self, rows: list[InquiryRow]) -> None:
        self._wh.insert_arrow("inquiries", rows_table(rows))
        ids = self._unaudited + [r.inquiry_id for r in rows]
        members: dict[str, int] = {}
        for r in rows:
            members[r.member_code] = members.get(r.member_code, 0) + 1
        try:
            with registry_db.session(self._registry) as db:
                audit.append(
                    db,
                    actor="api",
                    action="lookup.log",
                    obj=f"inquiries:{rows[0].queried_at.isoformat()}",
                    details={"count": len(ids), "members": members, "inquiry_ids": ids},
                )
            self._unaudited = []
        except Exception:
            # the rows are in the warehouse; their ids go into the next group's entry
            self._unaudited = ids
            log.exception(
                "audit entry for %d logged lookups failed; retried with the next", len(ids)
            )

    def _replay(self) -> None:
        for path in sorted(self._dir.glob("journal-*.jsonl")):
            rows = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    values = json.loads(line)
                    data = dict(zip(COLUMNS, values, strict=True))
                    data["queried_at"] = dt.datetime.fromisoformat(data["queried_at"])
                    rows.append(InquiryRow(**data))
                except (ValueError, TypeError):
                    log.warning("skipped a torn line in %s (a crash mid-write)", path.name)
            if rows:
                self._write(rows)
            path.unlink()
            log.info("replayed %d logged lookups from %s", len(rows), path.name)
