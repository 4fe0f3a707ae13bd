"""Disputes in members' areas: notices in ``outbox/``, answers by SFTP file, cases settled by
loads (the cases themselves: :mod:`exchange.registry.disputes`).

* **Notices**: when a case is opened, reminded (day 15) or escalated (day 20) the member finds
  ``outbox/<CASE>.<kind>.json`` (kind ``dispute``, ``reminder``, ``escalated``): the case as
  ``GET /v1/disputes/<CASE>`` shows it, and what to do.
* **Answers by file**: ``<base>.disputes.csv`` with its ``<base>.ctl`` (JSON: ``file``,
  ``sha256``) in ``inbox/``; header ``case_no,outcome,evidence``, one answer per row (at most
  :data:`MAX_ROWS`). Each row is answered on its own (a refused row changes nothing, the others
  go on); the answer is ``outbox/<base>.receipt.json`` with one result per row, and the two files
  move to ``archive/disputes/``. A file seen again after a crash answers its rows again: a row
  whose case already holds the same outcome and evidence counts as answered.
* **Settling**: a case answered ``corrected`` or ``deleted`` closes once the member's account
  has a record received after the case opened loaded (:func:`settle`, called after each of the
  member's loads; the new record may come before or after the answer).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

from exchange.domain import DisputeOutcome, DisputeStatus
from exchange.registry import db as registry_db
from exchange.registry import disputes
from exchange.registry.errors import DisputeNotFound, DisputeStateConflict, InvalidDispute
from ingest.areas import MemberArea, answer_tag, base_name, receipt_name
from ingest.claims import write_atomic
from ingest.landing import Kind, kind_of

log = logging.getLogger("jdx.ingest.disputes")

HEADER = ["case_no", "outcome", "evidence"]
MAX_ROWS = 10_000
MAX_BYTES = 8 << 20
ACTOR = "sftp"
WHAT_TO_DO = (
    "Answer within 20 days of opened_at: verified (the records stand), corrected (send the "
    "corrected A record in a regular loans file) or deleted (send the D record), with evidence — "
    "by POST /v1/disputes/<case_no>/answer or a <base>.disputes.csv file (case_no,outcome,"
    "evidence) with its control file. The account shows under_dispute in every lookup until the "
    "case closes."
)


def notice(area: MemberArea, case: disputes.DisputeInfo, kind: str, now: dt.datetime) -> Path:
    """Write ``outbox/<CASE>.<kind>.json`` (kind: dispute, reminder, escalated)."""
    area.outbox.mkdir(parents=True, exist_ok=True)
    path = area.outbox / f"{case.case_no}.{kind}.json"
    doc = {"notice": kind, "case": case.public(now), "what_to_do": WHAT_TO_DO}
    write_atomic(path, json.dumps(doc, ensure_ascii=False, indent=2).encode())
    return path


def controls(area: MemberArea) -> list[Path]:
    """The control files of dispute-answer submissions waiting in ``inbox/``."""
    try:
        found = sorted(p for p in area.inbox.glob("*.ctl") if p.is_file())
    except FileNotFoundError:
        return []
    return [p for p in found if kind_of(area.inbox, p)[0] is Kind.DISPUTES]


def _file_error(code: str, message: str) -> dict[str, Any]:
    return {"status": "rejected", "error": {"code": code, "message": message}, "answers": []}


def _read(control: Path, data: Path) -> tuple[list[list[str]] | None, dict[str, Any] | None]:
    """The rows of a dispute-answer file, or a rejected receipt's body."""
    try:
        doc = json.loads(control.read_bytes()[: 1 << 16].decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("sha256"), str):
        return None, _file_error(
            "DISPUTE_FILE_INVALID", "the control file must be JSON with file and sha256"
        )
    raw = data.read_bytes()[: MAX_BYTES + 1]
    if len(raw) > MAX_BYTES:
        return None, _file_error("DISPUTE_FILE_INVALID", f"the file is over {MAX_BYTES} bytes")
    if hashlib.sha256(raw).hexdigest() != doc["sha256"].strip().lower():
        return None, _file_error(
            "DISPUTE_CHECKSUM", "the data file's SHA-256 differs from the control file's"
        )
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        return None, _file_error("DISPUTE_FILE_INVALID", f"not a UTF-8 CSV file ({exc})")
    if not rows or [c.strip().lower() for c in rows[0]] != HEADER:
        return None, _file_error("DISPUTE_FILE_INVALID", f"the header must be {','.join(HEADER)}")
    if len(rows) - 1 > MAX_ROWS:
        return None, _file_error("DISPUTE_FILE_INVALID", f"more than {MAX_ROWS} answers")
    return rows[1:], None


def _answer_row(
    registry_url: str, member: str, line: int, row: list[str], now: dt.datetime
) -> dict[str, Any]:
    case_no = row[0].strip() if row else ""
    out: dict[str, Any] = {"line": line, "case_no": case_no}
    if len(row) != 3:
        return {**out, "result": "refused", "code": "INVALID",
                "message": "a row holds case_no, outcome and evidence"}  # fmt: skip
    try:
        with registry_db.session(registry_url) as db:
            case = disputes.answer(
                db, case_no, member_code=member, outcome=row[1], evidence=row[2],
                actor=f"{ACTOR}:{member}", now=now,
            )  # fmt: skip
    except DisputeNotFound as exc:
        return {**out, "result": "refused", "code": "DISPUTE_NOT_FOUND", "message": exc.message}
    except InvalidDispute as exc:
        return {**out, "result": "refused", "code": "INVALID", "message": exc.message}
    except DisputeStateConflict as exc:
        with registry_db.session(registry_url, readonly=True) as db:
            case = disputes.get_case(db, case_no, member)
        same = (
            case.outcome is not None
            and case.outcome.value == row[1].strip().lower()
            and case.evidence == row[2].strip()
        )
        if not same:  # a replay after a crash answers the same again
            return {**out, "result": "refused", "code": "DISPUTE_NOT_OPEN", "message": exc.message}
    return {
        **out,
        "result": case.status.value,
        "outcome": case.outcome.value if case.outcome else None,
    }


def answer_files(area: MemberArea, registry_url: str, now: dt.datetime) -> list[Path]:
    """Answer every dispute-answer file waiting in the member's inbox; return the receipts."""
    written = []
    for control in controls(area):
        data = kind_of(area.inbox, control)[1]
        if not data.is_file():
            continue  # the data file is still on its way
        base = base_name(control.name)
        rows, refused = _read(control, data)
        if refused is not None:
            body = refused
        else:
            assert rows is not None
            answers = [
                _answer_row(registry_url, area.code, i + 2, r, now) for i, r in enumerate(rows)
            ]
            ok = sum(1 for a in answers if a["result"] != "refused")
            status = (
                "accepted" if ok == len(answers) else "partially_accepted" if ok else "rejected"
            )
            body = {"status": status, "answers": answers}
        receipt = {"file": data.name, "kind": "disputes", "member": area.code,
                   "processed_at": now.isoformat(), **body}  # fmt: skip
        tag = answer_tag(area.outbox, base)
        path = area.outbox / receipt_name(tag)
        write_atomic(path, json.dumps(receipt, ensure_ascii=False, indent=2).encode())
        kept = area.archive / "disputes" / f"{tag}.{now:%Y%m%dT%H%M%S}"
        kept.mkdir(parents=True, exist_ok=True)
        for f in (data, control):
            os.replace(f, kept / f.name)
        log.info("member %s: dispute answers %s — %s", area.code, data.name, body["status"])
        written.append(path)
    return written


def settle(wh: Any, registry_url: str, member: str, now: dt.datetime | None = None) -> list[str]:
    """Close the member's cases answered corrected or deleted whose account has a record loaded
    from a file received after the case opened; return their case numbers."""
    with registry_db.session(registry_url, readonly=True) as db:
        waiting = [
            c
            for c in disputes.list_cases(db, member_code=member, status=DisputeStatus.ANSWERED)
            if c.outcome in (DisputeOutcome.CORRECTED, DisputeOutcome.DELETED)
        ]
    if not waiting:
        return []
    accounts = sorted({c.account_id for c in waiting})
    loaded = {
        r["account_id"]: r["loaded_at"]
        for r in wh.query("dispute_accounts_loaded", member=member, accounts=accounts).dicts()
    }
    done = set()
    for case in waiting:
        at = loaded.get(case.account_id)
        if at is not None and (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) >= case.opened_at:
            done.add(case.account_id)
    if not done:
        return []
    with registry_db.session(registry_url) as db:
        return disputes.settle_loaded(
            db, member, done, why="a record of the account loaded after the case opened",
            actor="loader", now=now,
        )  # fmt: skip
