"""The loader: members' submitted files → warehouse rows, receipts and data-quality scores.

One submission, step by step; every step is safe to repeat, so a crash (``kill -9``) anywhere
is followed by a replay that ends as if nothing had happened:

1. **claim** — ``<base>.ctl``, then its data file, renamed from ``inbox/`` into the private
   ``processing/<base>/`` (:mod:`ingest.claims`);
2. **ledger** — :func:`exchange.registry.submissions.receive` gives the load its ``load_seq`` and
   ``load_id``, or says ``duplicate`` (same SHA-256 loaded before), or returns the same
   ``load_seq`` for a load a crash interrupted; the load id is noted in the claim;
3. **validate** — :func:`ingest.validate.validate_submission` with the uploader's code and the
   pepper's pseudonymiser, then the history and across-member rules on reference data from the
   warehouse, counting only loads before this one, fetched and applied in chunks of
   ``insert_block_rows`` records of whole accounts (:mod:`ingest.reference`);
4. **load** — ledger ``loading``; accepted records into ``loan_states`` (whose views fill
   ``accounts_current``, ``account_months`` and the lookup tables) in one insert from a stream
   file in the claim (:func:`ingest.store.write_load`), D tombstones, every issue into ``rejections``,
   DQ rows into ``dq_daily``, the file into ``submissions``. Keys and versions come from
   ``load_seq`` and timestamps from the ledger, so a replay writes identical rows and readers
   (``FINAL``) see every accepted record exactly once;
5. **answer** — ``<base>.errors.csv`` and ``<base>.receipt.json`` written into the claim, then
   the ledger's final outcome (audited);
6. **publish and archive** — both files into ``outbox/`` (atomically, receipt last), the claim
   to ``archive/YYYY/MM/<base>/``.

Invariants:

* A member's submissions are processed one at a time: first claims left in ``processing/``, then
  control files in name order (so history rules see the files in order). The caller runs at most
  one :meth:`Loader.process_member` per member at once (:class:`ingest.service.LoaderService`).
* A control file whose data file has not arrived waits ``control_grace`` seconds (from its
  arrival in ``inbox/``: :func:`ingest.claims.waited`, so a restart does not reset the wait), then
  is answered ``rejected`` with F117 and archived.
* The data file goes to the archive sealed (:mod:`ingest.archive`, key from the settings): no raw
  ID number, name or mobile stays at rest outside ``processing/``.
* A file of a member the registry does not know is left where it is (and logged).
* One loader serves a members root at a time (:meth:`Loader.start_up` takes a lock on it), so
  two processes never claim or resume the same submission, even against a ClickHouse server.
* Logs name members, files, counts and load ids — never a record's content.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exchange.domain import CST, SPEC_LOANS_V1
from exchange.errors import TransientError
from exchange.pseudonym import Pseudonymiser
from exchange.registry import db as registry_db
from exchange.registry import get_member
from exchange.registry import submissions as ledger
from exchange.registry.errors import MemberNotFound
from exchange.registry.models import SubmissionStatus
from ingest import archive, claims, dq, receipts, store
from ingest.areas import (
    MemberArea,
    answer_tag,
    dq_file_name,
    ensure_area,
    errors_name,
    member_area,
)
from ingest.errors import MemoryLimit, ValidatorFailed
from ingest.landing import named_file
from ingest.limits import Limits
from ingest.limits import scan as scan_file
from ingest.parse import FileIssue, parse_control, parse_file_name
from ingest.reference import check_reference, drop_leftover_scratch
from ingest.sealed import Keyring
from ingest.settings import IngestSettings
from ingest.store import Abandoned
from ingest.validate import Validation
from ingest.worker import InProcessValidator, Request, Validator
from warehouse import Warehouse, WarehouseError

log = logging.getLogger("jdx.ingest.loader")

ACTOR = "loader"


@dataclass(frozen=True)
class LoaderConfig:
    members_root: Path
    control_grace: float = 24 * 3600.0  # seconds: [ingest] orphan_control_hours
    archive_days: int = 180
    insert_block_rows: int = 100_000
    insert_engine_block_rows: int = 250_000
    dq_threshold: float = 80.0
    timely_days: int = 2
    max_report_gap_days: int = 31
    dq_window_days: int = 35  # the DQ file's window: [api] reciprocity_days
    limits: Limits = field(default_factory=Limits)
    max_attempts: int = 5

    @classmethod
    def from_settings(cls, ingest: IngestSettings, *, dq_window_days: int = 35) -> LoaderConfig:
        assert ingest.members_root is not None, "resolve the settings' paths first"
        return cls(
            members_root=ingest.members_root,
            control_grace=ingest.orphan_control_hours * 3600.0,
            archive_days=ingest.archive_days,
            insert_block_rows=ingest.insert_block_rows,
            insert_engine_block_rows=ingest.insert_engine_block_rows,
            dq_threshold=ingest.dq_threshold,
            timely_days=ingest.timely_days,
            max_report_gap_days=ingest.max_report_gap_days,
            dq_window_days=dq_window_days,
            limits=Limits(
                max_file_bytes=ingest.max_file_bytes,
                max_line_bytes=ingest.max_line_bytes,
                max_records=ingest.max_records,
            ),
            max_attempts=ingest.max_attempts,
        )


@dataclass(frozen=True)
class Outcome:
    """What became of one submission."""

    member: str
    base: str
    status: str
    load_id: str
    records: int
    accepted: int
    rejected: int
    warnings: int
    dq_score: float | None
    archived: Path


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Loader:
    """Processes members' submissions (see the module doc). Thread-safe across members."""

    def __init__(
        self,
        config: LoaderConfig,
        *,
        registry_url: str,
        warehouse: Warehouse,
        pseudonymiser: Pseudonymiser,
        archive_keys: Keyring,
        stopping: threading.Event | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        validator: Validator | None = None,
    ) -> None:
        self.config = config
        self.registry_url = registry_url
        self.wh = warehouse
        self.pseudonymiser = pseudonymiser
        self.validator: Validator = validator or InProcessValidator(pseudonymiser)
        self.archive_keys = archive_keys
        self.stopping = stopping or threading.Event()
        self.clock = clock
        self._held: int | None = None

    # -- what there is to do -------------------------------------------------------------------

    def start_up(self) -> int:
        """Take the member areas (one loader at a time: :class:`LoaderBusy` otherwise), drop
        scratch tables of loads a crash interrupted; return how many were dropped."""
        if self._held is None:
            self._held = claims.hold_areas(self.config.members_root)
        return drop_leftover_scratch(self.wh)

    def close(self) -> None:
        """Let another loader take the member areas (and stop validation children)."""
        self.validator.close()
        if self._held is not None:
            os.close(self._held)
            self._held = None

    def members_with_work(self) -> list[str]:
        """Members with a claim to resume or a control file in their inbox."""
        out = []
        for code in claims.members(self.config.members_root):
            area = member_area(self.config.members_root, code)
            if claims.open_claims(area) or claims.controls(area):
                out.append(code)
        return out

    def process_all(self) -> list[Outcome]:
        """Process every member's pending submissions, one member after another."""
        done: list[Outcome] = []
        for code in self.members_with_work():
            if self.stopping.is_set():
                break
            done += self.process_member(code)
        return done

    def process_member(self, member: str) -> list[Outcome]:
        """Resume the member's claims, then claim and process its waiting control files."""
        member_type = self._member_type(member)
        if member_type is None:
            return []
        area = ensure_area(self.config.members_root, member)
        done: list[Outcome] = []
        try:
            for found in claims.open_claims(area):
                self._collect(done, self._process(area, found, member_type))
            for control in claims.controls(area):
                if self.stopping.is_set():
                    break
                if claims.data_waiting(area, control) is None and not self._grace_over(
                    member, control
                ):
                    continue
                try:
                    found = claims.claim(area, control)
                except FileNotFoundError:  # withdrawn by the member a moment ago
                    continue
                self._collect(done, self._process(area, found, member_type))
        except Abandoned:
            log.info(
                "member %s: stopping; the current submission resumes at the next start", member
            )
        if done:
            self.write_dq_file(area)
        return done

    def write_dq_file(self, area: MemberArea) -> Path | None:
        """The member's DQ report over ``dq_window_days`` as ``outbox/<MEMBER>_<YYYYMMDD>.dq.json``
        (today, China Standard Time), written after each round of its files: score, rates,
        worst fields and rules, corrections counted, and what would lift the score. The same
        document as ``GET /v1/dq``. A failure is logged, never fatal to the loads."""
        today = self.clock().astimezone(CST).date()
        since = today - dt.timedelta(days=self.config.dq_window_days)
        try:
            report = dq.member_report(self.wh, area.code, since)
        except Exception as exc:
            log.warning("member %s: DQ file not written (%s)", area.code, type(exc).__name__)
            return None
        doc = dq.report_doc(report, threshold=self.config.dq_threshold, until=today)
        path = area.outbox / dq_file_name(area.code, today)
        claims.write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False).encode() + b"\n")
        return path

    @staticmethod
    def _collect(done: list[Outcome], outcome: Outcome | None) -> None:
        if outcome is not None:
            done.append(outcome)

    def _member_type(self, member: str) -> str | None:
        try:
            with registry_db.session(self.registry_url, readonly=True) as db:
                return get_member(db, member).type.value
        except MemberNotFound:
            log.warning("member area %s has no member in the registry; its files wait", member)
            return None

    def _grace_over(self, member: str, control: Path) -> bool:
        """Whether ``control`` has waited ``control_grace`` seconds for its data file."""
        return claims.waited(control, self.clock()) >= self.config.control_grace

    # -- one submission ------------------------------------------------------------------------

    def _process(self, area: MemberArea, found: claims.Claim, member_type: str) -> Outcome | None:
        control = found.control
        if control is None:
            log.warning("member %s: claim %s has no control file; released", area.code, found.base)
            claims.release(area, found)
            return None
        if found.receipt.exists():
            return self._finalize(area, found, json.loads(found.receipt.read_bytes()))
        claims.complete(area, found)
        data_path = found.data
        limits = self.config.limits
        control_bytes, control_size = claims.read_bounded(control, limits.max_control_bytes)
        data_name = (
            data_path.name
            if data_path is not None
            else named_file(control_bytes) or f"{found.base}.loans.csv"
        )
        name = parse_file_name(data_name)
        parsed, _ = parse_control(control_bytes)
        file_date = name.file_date if name else None
        as_of = parsed.as_of if parsed else None
        scan = None
        if data_path is not None:
            compressed = name.compressed if name else data_name.endswith(".gz")
            scan = scan_file(data_path, compressed=compressed, limits=limits)
        sha256 = scan.sha256 if scan else receipts.EMPTY_SHA256
        info, previous = self._ledger_entry(found, data_name, sha256, file_date, as_of)
        base_receipt: dict[str, Any] = {
            "file": data_name,
            "control": control.name,
            "spec": SPEC_LOANS_V1,
            "sha256": sha256,
            "as_of": as_of.isoformat() if as_of else None,
            "file_date": file_date.isoformat() if file_date else None,
            "load_id": info.load_id,
            "errors_file": errors_name(answer_tag(area.outbox, found.base)),
            "received_at": receipts.timestamp(info.received_at),
        }
        if info.status is SubmissionStatus.DUPLICATE:
            return self._answer_duplicate(area, found, info, base_receipt)
        tries, last = claims.attempts(found)
        if tries >= self.config.max_attempts and not claims.writes_began(found):
            # a file that failed max_attempts times on the exchange's side: answered, not retried
            issue = FileIssue("F121", value=last, params={"attempts": tries})
            validation = receipts.file_rejected(data_name, control_bytes, [issue], sha256)
            return self._load_and_answer(area, found, member_type, info, validation, previous,
                                         base_receipt, as_of, file_date, data_path is None)  # fmt: skip
        claims.note_attempts(found, tries + 1, "the exchange stopped while processing it")
        try:
            if control_size > limits.max_control_bytes:
                validation = receipts.file_rejected(
                    data_name, b"", [receipts.control_too_large(control_size, limits)], sha256
                )
            elif scan is not None and scan.issue is not None:
                validation = receipts.file_rejected(
                    data_name, control_bytes, [scan.issue], sha256, file_name=name
                )
            else:
                validation = self._validate(area.code, data_name, data_path, control_bytes, info)
            return self._load_and_answer(area, found, member_type, info, validation, previous,
                                         base_receipt, as_of, file_date, data_path is None)  # fmt: skip
        except (Abandoned, TransientError):
            claims.note_attempts(found, tries, last)  # not the file's doing: not counted
            raise
        except Exception as exc:
            claims.note_attempts(found, tries + 1, _reason(exc))
            raise

    def _load_and_answer(
        self,
        area: MemberArea,
        found: claims.Claim,
        member_type: str,
        info: ledger.SubmissionInfo,
        validation: Validation,
        previous: dt.date | None,
        base_receipt: dict[str, Any],
        as_of: dt.date | None,
        file_date: dt.date | None,
        missing: bool,
    ) -> Outcome:
        """DQ rows, the load, the receipt and errors file in the claim, then :meth:`_finalize`."""
        timing = dq.Timing(
            received=info.received_at.astimezone(CST).date(),
            as_of=as_of or file_date,
            previous_as_of=previous,
            timely_days=self.config.timely_days,
            max_gap_days=self.config.max_report_gap_days,
        )
        dq_rows = dq.file_rows(validation, timing)
        score, dq_rates = dq.file_score(dq_rows)
        self._load(found, area.code, member_type, info, validation, dq_rows, file_date or as_of)
        receipt = receipts.for_validation(
            base_receipt,
            validation,
            dq_score=score,
            dq_rates=dq_rates,
            dq_threshold=self.config.dq_threshold,
            missing_data=validation.file_name if missing else None,
            processed_at=self.clock(),
        )
        claims.write_atomic(found.errors, lambda out: receipts.write_errors(out, validation.issues))
        claims.write_atomic(found.receipt, receipts.to_bytes(receipt))
        return self._finalize(area, found, receipt)

    def _ledger_entry(
        self,
        found: claims.Claim,
        data_name: str,
        sha256: str,
        file_date: dt.date | None,
        as_of: dt.date | None,
    ) -> tuple[ledger.SubmissionInfo, dt.date | None]:
        """The claim's ledger row (noted in the claim after the first time) and the member's
        previous reporting date."""
        with registry_db.session(self.registry_url) as db:
            if found.ledger_note.exists():
                load_id = json.loads(found.ledger_note.read_text())["load_id"]
                info = ledger.get_submission(db, load_id)
            else:
                received = ledger.receive(
                    db,
                    member_code=found.member,
                    file_name=data_name,
                    sha256=sha256,
                    file_date=file_date,
                    as_of=as_of,
                    actor=ACTOR,
                    received_at=self.clock(),
                )
                info = received.submission
                if received.resumed:
                    log.info(
                        "member %s: resuming load %s of %s", found.member, info.load_id, data_name
                    )
            previous = ledger.last_reported_as_of(db, found.member, info.load_seq)
        if not found.ledger_note.exists():
            claims.write_atomic(found.ledger_note, json.dumps({"load_id": info.load_id}).encode())
        return info, previous

    def _validate(
        self,
        member: str,
        data_name: str,
        data_path: Path | None,
        control: bytes,
        info: ledger.SubmissionInfo,
    ) -> Validation:
        if data_path is None:  # the control file waited control_grace in vain: F117
            hours = self.config.control_grace / 3600
            return receipts.missing_data(data_name, control, waited_hours=hours)
        request = Request(
            data_name,
            str(data_path),
            control,
            member,
            info.sha256,
            self.config.limits.max_file_bytes,
        )
        try:
            validation: Validation = self.validator.validate(request, self.stopping)
        except MemoryLimit as exc:
            issue = FileIssue(
                "F120", value=f"more than {exc.peak_mb:,.0f} MiB", params={"limit": exc.limit_mb}
            )
            return receipts.file_rejected(data_name, control, [issue], info.sha256)
        if validation.rows.num_rows:
            validation = check_reference(
                self.wh,
                member,
                validation,
                info.load_seq,
                info.load_id,
                chunk_rows=self.config.insert_block_rows,
            )
        return validation

    def _load(
        self,
        found: claims.Claim,
        member: str,
        member_type: str,
        info: ledger.SubmissionInfo,
        validation: Validation,
        dq_rows: list[dq.DqRow],
        day: dt.date | None,
    ) -> None:
        """Ledger ``loading``, then every warehouse row of the load (:mod:`ingest.store`)."""
        with registry_db.session(self.registry_url) as db:
            ledger.start_loading(db, info.load_id)
        store.write_submission(
            self.wh, info, "loading", (validation.records, 0, 0, 0), {}, None, self.clock()
        )
        claims.note_writes(found)  # from here a failed attempt may have written rows: no give-up
        store.write_load(
            self.wh,
            member=member,
            member_type=member_type,
            info=info,
            validation=validation,
            dq_rows=dq_rows,
            day=day or info.received_at.date(),
            block_rows=self.config.insert_block_rows,
            stopping=self.stopping,
            spool=found.path,
            engine_block_rows=self.config.insert_engine_block_rows,
        )

    def _answer_duplicate(
        self,
        area: MemberArea,
        found: claims.Claim,
        info: ledger.SubmissionInfo,
        base_receipt: dict[str, Any],
    ) -> Outcome:
        with registry_db.session(self.registry_url, readonly=True) as db:
            original = ledger.get_submission(db, info.duplicate_of) if info.duplicate_of else None
        receipt = receipts.for_duplicate(
            base_receipt,
            original,
            self.clock(),
            self.config.dq_threshold,
        )
        claims.write_atomic(
            found.errors, receipts.errors_csv(receipts.duplicate_issues(info.sha256))
        )
        claims.write_atomic(found.receipt, receipts.to_bytes(receipt))
        return self._finalize(area, found, receipt)

    def _finalize(self, area: MemberArea, found: claims.Claim, receipt: dict[str, Any]) -> Outcome:
        """Ledger outcome, warehouse submissions row, outbox, archive (each idempotent)."""
        status = str(receipt["status"])
        with registry_db.session(self.registry_url) as db:
            info = ledger.get_submission(db, str(receipt["load_id"]))
            if not info.status.is_final:
                info = ledger.finish(
                    db,
                    info.load_id,
                    status=status,
                    records=int(receipt["records"]),
                    accepted=int(receipt["accepted"]),
                    rejected=int(receipt["rejected"]),
                    warnings=int(receipt["warnings"]),
                    dq_score=receipt["dq_score"],
                    actor=ACTOR,
                )
        counts = (
            int(receipt["records"]),
            int(receipt["accepted"]),
            int(receipt["rejected"]),
            int(receipt["warnings"]),
        )
        issue_counts = {**receipt["error_counts"], **receipt["warning_counts"]}
        store.write_submission(
            self.wh, info, status, counts, issue_counts, receipt["dq_score"], self.clock()
        )
        claims.publish(area, found)
        store.drop_spool(found.path)  # a crash after the insert kept it: never archived
        archived = archive.archive_claim(
            area, found, info.received_at.date(), info.load_id, self.archive_keys
        )
        log.info(
            "member %s: %s %s — %d records, %d accepted, %d rejected, DQ %s (load %s)",
            area.code,
            receipt["file"],
            status,
            receipt["records"],
            receipt["accepted"],
            receipt["rejected"],
            receipt["dq_score"],
            info.load_id,
        )
        return Outcome(
            area.code, found.base, status, info.load_id, *counts, receipt["dq_score"], archived
        )


def _reason(exc: BaseException) -> str:
    """What a member's receipt may say about a failure on the exchange's side (no class names,
    no data: the log has the details)."""
    if isinstance(exc, ValidatorFailed):
        return "the validation process failed"
    if isinstance(exc, WarehouseError):
        return "a warehouse write failed"
    return "an internal error"
