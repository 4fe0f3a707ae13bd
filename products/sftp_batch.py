"""Batch lookups by SFTP file (DOMAIN.md §3): a member uploads ``<base>.batch.csv`` and its
``<base>.ctl`` into ``inbox/``; the answer is ``<base>.result.csv`` and ``<base>.receipt.json`` in
its ``outbox/``. docs/api.md ("Batch by SFTP") is the members' description.

* The CSV is the API's batch CSV: header ``id_type,id_number,consent_ref[,name]``, one borrower per
  row, ``consent_ref`` per row. The control file is JSON: ``file`` (the data file's name),
  ``purpose`` (one purpose for the file, as in the API's batch), ``sha256`` of the data file, and
  optionally ``records`` (data rows) and ``as_of`` (YYYY-MM-DD; default today, China time).
* A batch submission is a control file in ``inbox/`` that names a ``*.batch.csv[.gz]`` file, or
  whose base has such a file in ``inbox/``. The loader leaves both alone (:mod:`ingest.claims`,
  :mod:`ingest.loader`); this stage touches nothing else in a member's area.
* It runs as a batch job of the member (:mod:`products.batch`, ``source = "sftp"``): the same
  checks per row (codes in the result), reciprocity, the same inquiry log (product ``BATCH``,
  ``api_key_id = "sftp"``, audit actor ``sftp:<CODE>``) and so the same billing. The member's
  SFTP account is its authority, as for uploads; a member that is not ACTIVE is refused.
* Each file is handled on its own: one that cannot be read for any unforeseen reason is refused
  (``BATCH_FILE_INVALID``) and the scan goes on with the member's other files and other members.
* File-level refusals (bad control file, wrong checksum, purpose, header, too many rows,
  reciprocity) are a receipt with ``status = "rejected"`` and ``error`` in the API's shape; no
  job runs and nothing is billed. A control file waiting for its data file waits ``[ingest]
  control_grace`` seconds, then is refused ``BATCH_FILE_MISSING``. A member with
  ``batch_max_queued`` jobs waits: the files stay in ``inbox/`` until a job is done.
* Crash safety: the job id is derived from member, base and the data file's SHA-256, so a file
  seen again after a crash (job accepted, files not yet removed) is the same job; the files are
  removed from ``inbox/`` once the job holds the pseudonymised keys (identities are not kept);
  the result is written before the receipt, each atomically, and a job that ended without its
  receipt is answered at the next start. The same file uploaded again under the same base is not
  run again.
* Runs in the process that owns the warehouse (``jdx serve`` / ``jdx api serve``), on one thread
  woken by the SFTP server's file events (:meth:`SftpBatches.notify`) and by a scan of every inbox
  each ``[ingest] poll_interval`` seconds. One process at a time answers a members root (an
  ``flock`` on ``<members_root>/.batch.lock``): with a ClickHouse server several API processes
  may run, and only the first one started answers batch files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import gzip
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exchange.domain import FIRST_DAY, MemberStatus, Purpose
from exchange.registry import db as registry_db
from exchange.registry import get_member
from exchange.registry.errors import MemberNotFound
from ingest.areas import MemberArea, base_name, member_area, receipt_name
from ingest.claims import is_control, members, write_atomic
from ingest.landing import SUFFIXES, Kind, kind_of
from products.auth import Caller
from products.batch import Job, parse_rows, result_csv, rows_from_csv
from products.errors import ApiError, InvalidField, TooLarge
from products.lookups.borrower import today_cst

if TYPE_CHECKING:
    from products.service import ProductService

log = logging.getLogger(__name__)

SFTP_KEY_ID = "sftp"
LOCK_FILE = ".batch.lock"
#: A control file that is not JSON yet is refused only once it is this old (it may be half written)
SETTLE_SECONDS = 5.0


def result_name(base: str) -> str:
    return f"{base}.result.csv"


class Refused(ApiError):
    """A batch file refused as a whole (its receipt carries the code)."""


def batch_file(inbox: Path, control: Path) -> Path | None:
    """The batch data file of ``control``, if its submission is a batch lookup
    (:func:`ingest.landing.kind_of`, the one place that tells the kinds apart)."""
    kind, data = kind_of(inbox, control)
    return data if kind is Kind.BATCH else None


def _unreadable(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw.decode("utf-8-sig")), dict)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return True


def _control(raw: bytes, data: Path, digest: str) -> tuple[Purpose, dt.date, int | None]:
    """The control file's purpose, as_of and records, or :class:`Refused` naming the field."""
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise Refused("the control file is not a JSON object", code="BATCH_CONTROL_INVALID",
                      field="control")  # fmt: skip
    if doc.get("file") != data.name:
        raise Refused(
            f'the control file must name its data file: "file": "{data.name}"',
            code="BATCH_CONTROL_INVALID", field="file",
        )  # fmt: skip
    sha = doc.get("sha256")
    if not isinstance(sha, str) or sha.lower() != digest:
        raise Refused(
            f"sha256 in the control file does not match {data.name} (its SHA-256 is {digest}); "
            "upload the data file completely, then its control file",
            code="BATCH_CHECKSUM", field="sha256",
        )  # fmt: skip
    try:
        purpose = Purpose(str(doc.get("purpose")))
    except ValueError:
        raise Refused(
            "purpose is required in the control file: " + ", ".join(p.value for p in Purpose),
            code="PURPOSE_INVALID", field="purpose",
        ) from None  # fmt: skip
    try:
        as_of = dt.date.fromisoformat(doc["as_of"]) if doc.get("as_of") else today_cst()
    except (TypeError, ValueError):
        raise Refused("as_of must be a date YYYY-MM-DD", code="INVALID", field="as_of") from None
    latest = today_cst() + dt.timedelta(days=1)
    if not FIRST_DAY <= as_of <= latest:
        raise Refused(f"as_of must be a date from {FIRST_DAY} to {latest}", code="INVALID",
                      field="as_of")  # fmt: skip
    records = doc.get("records")
    if records is not None and (not isinstance(records, int) or isinstance(records, bool)):
        raise Refused("records must be a whole number", code="BATCH_CONTROL_INVALID",
                      field="records")  # fmt: skip
    return purpose, as_of, records


class SftpBatches:
    """Watches the members' inboxes for batch files and answers them in their outboxes."""

    name = "sftp-batch"

    def __init__(
        self, service: ProductService, members_root: Path, poll_interval: float, grace: float
    ) -> None:
        self._service = service
        self.members_root = Path(members_root)
        self.poll_interval = poll_interval
        self._grace = grace
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._first_seen: dict[Path, float] = {}
        self._answer_lock = threading.Lock()
        self._held: int | None = None
        self.active = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        for job in self._service.batches.jobs("sftp"):  # ended while nobody answered it
            if job.status in ("done", "failed"):
                self.answer(job)
        self.members_root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.members_root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            log.warning("another process answers the batch files under %s", self.members_root)
            return
        self._held, self.active = fd, True
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="jdx-sftp-batch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._held is not None:
            os.close(self._held)  # releases the flock
            self._held, self.active = None, False

    def notify(self, member: str, path: Path) -> None:
        """SFTP server callback: a file was closed or renamed in ``member``'s inbox."""
        if is_control(path.name) or path.name.endswith(SUFFIXES[Kind.BATCH]):
            self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.scan()
            except Exception:
                log.exception("scanning the inboxes for batch files failed")
            self._wake.wait(self.poll_interval)

    # -- finding and submitting ----------------------------------------------------------------

    def scan(self) -> int:
        """Submit (or refuse) every complete batch file waiting; return how many were taken.

        Each member and each file on its own: a file that cannot be handled (whatever the
        reason) is refused with its own coded receipt (``BATCH_FILE_INVALID``) and the scan goes
        on with the other files and members."""
        taken = 0
        for code in members(self.members_root):
            if self._stopping.is_set():
                break
            area = member_area(self.members_root, code)
            try:
                found = sorted(
                    p for p in area.inbox.iterdir() if is_control(p.name) and p.is_file()
                )
            except OSError:
                continue
            for control in found:
                try:
                    data = batch_file(area.inbox, control)
                    if data is not None:
                        taken += self._take_isolated(area, control, data)
                except Exception as exc:  # one member's file never stops the others
                    log.error("member %s: batch control %s not handled (%s)", area.code,
                              control.name, type(exc).__name__)  # fmt: skip
        return taken

    def _take_isolated(self, area: MemberArea, control: Path, data: Path) -> int:
        """:meth:`_take`, with anything unexpected answered as a refusal of this file alone."""
        try:
            return self._take(area, control, data)
        except Exception as exc:
            log.error(
                "member %s: batch file %s could not be read (%s); refused",
                area.code, data.name, type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG),
            )  # fmt: skip
            self._refuse(area, base_name(control.name), control, data, Refused(
                f"{data.name} could not be read as a batch file (header "
                "id_type,id_number,consent_ref[,name], RFC 4180 CSV in UTF-8, one borrower per "
                "line); correct it and upload it again with its control file",
                code="BATCH_FILE_INVALID", field="file",
            ))  # fmt: skip
            return 1

    def _take(self, area: MemberArea, control: Path, data: Path) -> int:
        base = base_name(control.name)
        try:
            member, status = self._member(area.code)
        except MemberNotFound:
            return 0  # like the loader: files of a member the registry does not know wait
        if not data.is_file():
            first = self._first_seen.setdefault(control, time.monotonic())
            if time.monotonic() - first < self._grace:
                return 0
            self._refuse(area, base, control, data, Refused(
                f"the data file {data.name} did not arrive within {self._grace:g} s of its "
                "control file", code="BATCH_FILE_MISSING", field="file",
            ))  # fmt: skip
            return 1
        self._first_seen.pop(control, None)
        try:
            raw_control = control.read_bytes()
            raw = data.read_bytes()
            age = time.time() - control.stat().st_mtime
        except FileNotFoundError:
            return 0  # withdrawn meanwhile
        if _unreadable(raw_control) and age < SETTLE_SECONDS:
            return 0  # perhaps still being written (a plain put): look again at the next scan
        digest = hashlib.sha256(raw).hexdigest()
        received = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        origin = {"base": base, "file": data.name, "sha256": digest, "received_at": received}
        job_id = hashlib.sha256(f"sftp:{area.code}:{base}:{digest}".encode()).hexdigest()[:32]
        batches = self._service.batches
        if batches.find(job_id) is not None:  # taken before a crash: just tidy the inbox
            self._remove(control, data)
            return 0
        try:
            if status is not MemberStatus.ACTIVE:
                raise Refused(f"member {area.code} is {status.value.lower()}",
                              code="MEMBER_NOT_ACTIVE")  # fmt: skip
            purpose, as_of, records = _control(raw_control, data, digest)
            rows = self._rows(raw, data)
            limit = self._service.cfg.batch_max_borrowers
            if len(rows) > limit:
                raise TooLarge(f"{len(rows):,} borrowers in one file; at most {limit:,} are allowed",
                               field="borrowers")  # fmt: skip
            if not rows:
                raise InvalidField("the batch file has no borrower rows", field="borrowers")
            if records is not None and records != len(rows):
                raise Refused(
                    f"records in the control file is {records}, the file has {len(rows)} rows",
                    code="BATCH_CONTROL_INVALID", field="records",
                )  # fmt: skip
            self._service.reciprocity.check(member)
            table = parse_rows(rows, self._service.pseudonymiser)
            del rows, raw  # raw identities end here
            batches.submit(member, purpose, as_of, table, job_id=job_id, source="sftp",
                           origin=origin)  # fmt: skip
        except ApiError as exc:
            if exc.code == "BATCH_BUSY":
                return 0  # waits in the inbox until one of the member's jobs is done
            self._refuse(area, base, control, data, exc, origin)
            return 1
        self._remove(control, data)
        log.info("member %s: batch file %s taken as job %s", area.code, data.name, job_id)
        return 1

    def _member(self, code: str) -> tuple[Caller, MemberStatus]:
        with registry_db.session(self._service.settings.registry_url, readonly=True) as db:
            m = get_member(db, code)
        return Caller(SFTP_KEY_ID, m.code, m.name, m.type, m.joined, frozenset()), m.status

    @staticmethod
    def _rows(raw: bytes, data: Path) -> list[dict[str, Any]]:
        try:
            if data.name.endswith(".gz"):
                raw = gzip.decompress(raw)
            text = raw.decode("utf-8-sig")
        except (OSError, EOFError, UnicodeDecodeError):
            raise Refused(f"{data.name} is not a UTF-8 CSV (gzip-compressed if it ends in .gz)",
                          code="INVALID", field="file") from None  # fmt: skip
        return rows_from_csv(text)

    @staticmethod
    def _remove(*paths: Path) -> None:
        for path in paths:  # the data file first: a control file alone is refused, never re-run
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- answering -----------------------------------------------------------------------------

    def _refuse(
        self, area: MemberArea, base: str, control: Path, data: Path, exc: ApiError,
        origin: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        receipt = {
            "base": base, "kind": "batch", "file": data.name,
            "sha256": (origin or {}).get("sha256"), "status": "rejected", "job_id": None,
            "received_at": (origin or {}).get("received_at")
            or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **exc.body(),
        }  # fmt: skip
        write_atomic(area.outbox / receipt_name(base), _json(receipt))
        self._remove(data, control)
        log.info("member %s: batch file %s refused (%s)", area.code, data.name, exc.code)

    def answer(self, job: Job) -> None:
        """Write an ended SFTP job's result and receipt into the member's outbox (idempotent)."""
        origin = job.origin or {}
        base = str(origin.get("base") or job.id)
        area = member_area(self.members_root, job.member)
        receipt_path = area.outbox / receipt_name(base)
        with self._answer_lock:
            if (
                receipt_path.exists()
                and json.loads(receipt_path.read_text()).get("job_id") == job.id
            ):
                return
            area.outbox.mkdir(parents=True, exist_ok=True)
            done = job.status == "done"
            if done:
                result = self._service.batches.folder(job) / "result.parquet"
                write_atomic(area.outbox / result_name(base), result_csv(result))
            receipt = {
                "base": base, "kind": "batch", "file": origin.get("file"),
                "sha256": origin.get("sha256"), "status": job.status, "job_id": job.id,
                "purpose": job.purpose, "as_of": job.as_of, "borrowers": job.borrowers,
                "invalid": job.invalid, "looked_up": job.looked_up, "refused": job.refused,
                "result_file": result_name(base) if done else None,
                "received_at": origin.get("received_at"), "finished_at": job.finished_at,
                "error": None if done else {
                    "code": "INTERNAL", "message": job.error or "the job failed", "field": None},
            }  # fmt: skip
            write_atomic(receipt_path, _json(receipt))
        log.info("member %s: batch file %s answered (%s)", job.member, base, job.status)


def _json(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
