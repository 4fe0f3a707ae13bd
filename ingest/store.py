"""The warehouse writes of one load, keyed so that a replay after a crash changes nothing.

Invariants:

* Every row is keyed by the load's ``load_id`` / ``load_seq`` (:mod:`ingest.rows`), so writing a
  load twice leaves the replacing tables, read with ``FINAL``, as after one write.
* Accepted records go into ``loan_states``, and issues into ``rejections``, in blocks of
  ``block_rows``; between blocks a stop request abandons the load (:class:`Abandoned`), which
  the next start replays.
* A D record is carried through ``account_months`` and ``accounts_current`` for every borrower
  key the account ever had (named statements ``ingest_tombstone_*``), after the views wrote the
  file's own rows.
* ``submissions`` gets a row per status change; the newest ``updated_at`` wins.
"""

from __future__ import annotations

import datetime as dt
import threading

from exchange.domain import SPEC_LOANS_V1
from exchange.registry.submissions import SubmissionInfo
from ingest import dq, rows
from ingest.validate import Validation
from warehouse import Warehouse

#: loan_states inserts: no merge of each inserted block (the replacing tables deduplicate when
#: read with FINAL) and both views at once — about three times faster than the defaults.
INSERT_SETTINGS = {"optimize_on_insert": 0, "parallel_view_processing": 1}


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
) -> None:
    """loan_states (and through its views accounts_current, account_months), D tombstones,
    rejections and dq_daily rows of one validated file."""
    deleted: dict[str, int] = {}
    for accepted in validation.accepted_blocks(block_rows):
        if stopping.is_set():
            raise Abandoned
        # one block at a time: the file's accepted and loan_states rows are never all in memory
        block = rows.loan_states(
            accepted,
            member=member,
            member_type=member_type,
            load_id=info.load_id,
            load_seq=info.load_seq,
            loaded_at=info.received_at,
        )
        wh.insert_arrow("loan_states", block, INSERT_SETTINGS, in_memory=True)
        del block
        for account, at in zip(*rows.deletions(accepted, info.load_seq), strict=True):
            deleted[account] = max(deleted.get(account, 0), at)
        del accepted
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
