"""The inquiry log: every lookup becomes a row of the warehouse's ``inquiries`` table and part of
an audit-chain entry, and counts in the next answer at once.

Why not one warehouse insert per lookup: an insert into a MergeTree costs 5–10 ms on chDB (a new
part on disk each time), more than the whole lookup budget, and hundreds of tiny parts a second
would slow every read. So:

1. :meth:`InquiryLog.record` appends the row to a journal file (one JSON line, flushed to the
   operating system before the answer is sent) and keeps it in memory, where
   :meth:`InquiryLog.pending_for` returns it to the next lookup of the same borrower
   (read-your-writes at once within this process).
2. A writer thread moves the journal to the warehouse every ``inquiry_flush_seconds``: it rotates
   the journal segment, inserts its rows in one insert, appends **one** audit entry
   (``lookup.log``) naming every inquiry id of the group, deletes the segment, and only then drops
   the rows from memory — a row is always visible in memory, in the warehouse, or both (readers
   deduplicate by ``inquiry_id``).
3. :meth:`start` replays segments left by a crash; ``inquiries`` is a ReplacingMergeTree keyed
   by ``(borrower_key, queried_at, inquiry_id)``, so a replay never counts a lookup twice.
   A process crash loses nothing that was answered; an operating-system crash may lose the last
   unsynced journal lines (the journal is not fsynced per line, by design of the latency goal).

Batch jobs call :meth:`record_batch`: their rows (up to 100k) go to the warehouse in one insert
directly, with one audit entry per job (``batch.lookup``), before the job is marked done.

Nothing raw is journalled: rows hold the borrower key (a keyed hash), never an id number or name.
Against a ClickHouse server with several API processes, another process sees a lookup after the
next flush (≤ ``inquiry_flush_seconds``), not at once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from exchange import audit
from exchange.registry import db as registry_db
from products.lookups.borrower import Inquiry
from warehouse import Warehouse

log = logging.getLogger(__name__)

COLUMNS = (
    "borrower_key", "queried_at", "inquiry_id", "member_code", "member_type", "product", "purpose",
    "consent_ref", "api_key_id", "batch_id",
)  # fmt: skip
_TS = pa.timestamp("ms", tz="UTC")
SCHEMA = pa.schema([(c, _TS if c == "queried_at" else pa.string()) for c in COLUMNS])


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


def now_ms() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    return str(uuid.uuid4())


def rows_table(rows: Sequence[InquiryRow]) -> pa.Table:
    return pa.table(
        {c: pa.array([getattr(r, c) for r in rows], SCHEMA.field(c).type) for c in COLUMNS},
        schema=SCHEMA,
    )


class InquiryLog:
    """Journal + memory + writer thread (see the module invariants)."""

    def __init__(
        self, wh: Warehouse, registry_url: str, journal_dir: Path, flush_seconds: float
    ) -> None:
        self._wh = wh
        self._registry = registry_url
        self._dir = journal_dir
        self._interval = flush_seconds
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
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
        with self._lock:
            self._open_segment()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="jdx-inquiry-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
                if self._path is not None and not self._segment_rows:
                    self._path.unlink(missing_ok=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # keep the writer alive; the journal keeps the rows
                log.exception("inquiry log flush failed; rows stay in the journal and memory")

    # -- recording -----------------------------------------------------------------------------

    def record(self, row: InquiryRow) -> None:
        """Journal one lookup and make it visible to the next answer at once."""
        line = json.dumps([getattr(row, c) if c != "queried_at" else row.queried_at.isoformat()
                           for c in COLUMNS], separators=(",", ":"))  # fmt: skip
        with self._lock:
            if self._file is None:
                raise RuntimeError("the inquiry log is not started")
            self._file.write(line + "\n")
            self._file.flush()
            self._segment_rows.append(row)
            self._pending.setdefault(row.borrower_key, []).append(row)

    def pending_for(self, borrower_key: str) -> list[Inquiry]:
        with self._lock:
            return [r.as_inquiry() for r in self._pending.get(borrower_key, ())]

    def record_batch(
        self, table: pa.Table, *, batch_id: str, member_code: str, actor: str, digest: str
    ) -> None:
        """Insert a batch job's inquiry rows and one audit entry for the job.

        ``digest`` is the SHA-256 of the job's inquiry ids (16 bytes each, in row order), so the
        entry pins exactly which rows the job logged.
        """
        if table.num_rows:
            self._wh.insert_arrow("inquiries", table)
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
                with self._lock:
                    for r in rows:
                        left = [x for x in self._pending.get(r.borrower_key, ()) if x is not r]
                        if left:
                            self._pending[r.borrower_key] = left
                        else:
                            self._pending.pop(r.borrower_key, None)
                written += len(rows)
            return written

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
