"""The warehouse writes of one load, keyed so that a replay after a crash changes nothing.

Invariants:

* Every row is keyed by the load's ``load_id`` / ``load_seq`` (:mod:`ingest.rows`), so writing a
  load twice leaves the replacing tables, read with ``FINAL``, as after one write.
* Accepted records go into ``loan_states`` in ONE insert per load: built ``block_rows`` at a
  time into an Arrow stream file in the claim's directory (:data:`STREAM_NAME`; ``loan_states``
  rows hold pseudonyms, never a raw ID number, name or mobile), which the warehouse then reads
  in one statement, columns by name, forming its own blocks (``engine_block_rows``), so the
  views on ``loan_states`` fire once per engine block, not once per chunk. The file is written
  as ``.tmp`` and renamed, removed after the insert and before the claim is archived; a replay
  writes it again (same rows: keys and versions from ``load_seq``). Issues go into
  ``rejections`` in blocks of ``block_rows``. Between blocks a stop request abandons the load
  (:class:`Abandoned`), which the next start replays.
* A D record is carried through ``account_months`` and ``accounts_current`` for every borrower
  key the account ever had (named statements ``ingest_tombstone_*``), after the views wrote the
  file's own rows.
* ``submissions`` gets a row per status change; the newest ``updated_at`` wins.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import pyarrow.ipc as ipc

from exchange.domain import SPEC_LOANS_V1
from exchange.registry.submissions import SubmissionInfo
from ingest import dq, rows
from ingest.validate import Validation
from warehouse import Warehouse

#: loan_states inserts: no merge of each inserted block (the replacing tables deduplicate when
#: read with FINAL) and the views at once — about three times faster than the defaults.
INSERT_SETTINGS = {"optimize_on_insert": 0, "parallel_view_processing": 1}
#: The load's accepted rows on their way to ``loan_states``, in the claim's directory (hidden:
#: never taken for a data file; pseudonyms only, like the table; removed after the insert and
#: before the claim is archived).
STREAM_NAME = ".loan_states.arrows"
#: Rows per record batch of the stream file (the engine squashes batches into its own blocks).
STREAM_BATCH_ROWS = 65_536


class Abandoned(Exception):
    """The loader is stopping: the submission stays claimed and is replayed by the next start."""


def write_load(
    wh: Warehouse,
    *,
    member: str,
    member_type: str,
    info: SubmissionInfo,
    validation: Validation,
    dq_rows: list[dq.DqRow],
    day: dt.date,
    block_rows: int,
    stopping: threading.Event,
    spool: Path,
    engine_block_rows: int = 250_000,
) -> None:
    """loan_states (and through its views accounts_current, account_months …), D tombstones,
    rejections and dq_daily rows of one validated file. ``spool`` is the claim's directory:
    the accepted rows go through :data:`STREAM_NAME` there (:func:`spool_loan_states`), then
    into ``loan_states`` in one insert (:func:`insert_loan_states`)."""
    path = spool / STREAM_NAME
    rows_written, deleted = spool_loan_states(
        path,
        validation,
        member=member,
        member_type=member_type,
        info=info,
        block_rows=block_rows,
        stopping=stopping,
    )
    if rows_written:
        if stopping.is_set():
            raise Abandoned
        insert_loan_states(wh, path, engine_block_rows)
    drop_spool(spool)
    accounts = sorted(deleted)
    versions = [deleted[a] for a in accounts]
    if accounts:
        for statement in ("ingest_tombstone_months", "ingest_tombstone_current"):
            wh.execute(statement, member=member, accounts=accounts, versions=versions)
    if validation.issue_table.num_rows:
        issues, as_of_dates = validation.issues, validation.issue_as_of_dates
        # in blocks too: a file of faulty records has millions of issues
        for start in range(0, issues.num_rows, block_rows):
            if stopping.is_set():
                raise Abandoned
            block = rows.rejections(
                issues.slice(start, block_rows),
                member=member,
                load_id=info.load_id,
                load_seq=info.load_seq,
                file_name=info.file_name,
                created_at=info.received_at,
                as_of_dates=as_of_dates.slice(start, block_rows),
                first_issue=start,
            )
            wh.insert_arrow("rejections", block, in_memory=True)
            del block
    table = dq.dq_table(
        dq_rows, member=member, day=day, load_id=info.load_id, computed_at=info.received_at
    )
    wh.insert_arrow("dq_daily", table)


def spool_loan_states(
    path: Path,
    validation: Validation,
    *,
    member: str,
    member_type: str,
    info: SubmissionInfo,
    block_rows: int,
    stopping: threading.Event,
) -> tuple[int, dict[str, int]]:
    """The file's ``loan_states`` rows into the Arrow IPC stream ``path`` (written as
    ``<path>.tmp``, then renamed over ``path``), built
    ``block_rows`` accepted records at a time (never all in memory); return the rows written
    and the D records' accounts with their tombstone versions. A stop request between blocks
    abandons the load (:class:`Abandoned`)."""
    deleted: dict[str, int] = {}
    written = 0
    partial = path.with_name(path.name + ".tmp")
    with partial.open("wb") as sink, ipc.new_stream(sink, rows.LOAN_STATES_SCHEMA) as writer:
        for accepted in validation.accepted_blocks(block_rows):
            if stopping.is_set():
                raise Abandoned
            block = rows.loan_states(
                accepted,
                member=member,
                member_type=member_type,
                load_id=info.load_id,
                load_seq=info.load_seq,
                loaded_at=info.received_at,
            )
            writer.write_table(block, max_chunksize=STREAM_BATCH_ROWS)
            written += block.num_rows
            del block
            for account, at in zip(*rows.deletions(accepted, info.load_seq), strict=True):
                deleted[account] = max(deleted.get(account, 0), at)
            del accepted
    os.replace(partial, path)  # whole or absent under its name (a replay writes it again)
    return written, deleted


def drop_spool(spool: Path) -> None:
    """Remove the stream file (whole or partial) from the claim's directory ``spool``."""
    for name in (STREAM_NAME, STREAM_NAME + ".tmp"):
        (spool / name).unlink(missing_ok=True)


def insert_loan_states(wh: Warehouse, path: Path, engine_block_rows: int = 0) -> None:
    """The stream file ``path`` into ``loan_states`` in one insert, columns by name; the views
    fire once per engine block (at most ``engine_block_rows`` rows when it is not 0)."""
    settings = dict(INSERT_SETTINGS)
    if engine_block_rows:
        settings.update(min_insert_block_size_rows=engine_block_rows, min_insert_block_size_bytes=0)
    wh.insert_arrow_stream("loan_states", path, rows.LOAN_STATES_SCHEMA.names, settings)


def write_submission(
    wh: Warehouse,
    info: SubmissionInfo,
    status: str,
    counts: tuple[int, int, int, int],
    issue_counts: dict[str, int],
    dq_score: float | None,
    now: dt.datetime,
) -> None:
    """The file's ``submissions`` row with its current status (records, accepted, rejected,
    warnings in ``counts``)."""
    received = info.received_at.date()
    row = rows.submission(
        load_id=info.load_id,
        load_seq=info.load_seq,
        member=info.member_code,
        file_name=info.file_name,
        sha256=info.sha256,
        spec=SPEC_LOANS_V1,
        as_of=info.as_of or info.file_date or received,
        file_date=info.file_date or info.as_of or received,
        received_at=info.received_at,
        status=status,
        counts=counts,
        issue_counts=issue_counts,
        dq_score=dq_score,
        updated_at=now,
    )
    wh.insert_rows("submissions", [row], rows.SUBMISSIONS_COLUMNS)
