"""Batch lookups: a job of up to ``batch_max_borrowers`` borrowers, submitted, polled, downloaded.

Invariants:

* Identities are pseudonymised when the job is accepted, in the request: the job directory
  (``<api data_dir>/batch/<job id>/``, mode 0700) holds borrower keys, never an id number or name.
  Rows that fail a check (id type, checksum, consent) stay in the job with their error code and
  field, and are neither looked up, logged nor billed.
* A job belongs to the member that submitted it; another member's key is refused (403
  ``NOT_OWNER``) on every job route.
* One worker thread runs the jobs in submission order. A job: its keys go into ``batch_keys``
  in one insert, two grouped queries (``batch_accounts``, and ``batch_inquiries``: from the
  inquiry summary where it holds the job's year, :mod:`products.inquiry_summary`, and from
  ``inquiries`` after it) read the figures of all its borrowers at once, the answer is
  joined to the rows in Arrow, every looked-up row is logged as an inquiry (product ``BATCH``, one
  audit entry per job), and ``result.parquet`` is written; then the keys' partition is dropped.
  A job interrupted by a stop is run again at the next start (logging is the last step before
  ``done``, and inquiries are keyed by id) and answers what its first run did: its own
  inquiries are not among the applications it counts, and it splits its counts between the
  inquiry summary and ``inquiries`` where its first run did (``Job.counted_through``; from
  ``inquiries`` alone once that generation is dropped), so a generation built meanwhile, which
  may hold the rows that first run logged, is not read.
* POST_LOAN rows for borrowers the caller reports no account for get ``POST_LOAN_NOT_ALLOWED``.
* A job comes from the API (``source = "api"``) or from a batch file a member uploaded over SFTP
  (``source = "sftp"``, :mod:`products.sftp_batch`); both run, log and bill the same way. A job
  submitted with an id that already exists is that job (an SFTP file seen again after a crash is
  not run twice). ``on_done`` is called after an SFTP job ends (done or failed) to answer it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import queue
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from exchange import regions
from exchange.domain import Purpose
from exchange.errors import TransientError
from exchange.identity import PROBLEMS, check_ids
from exchange.pseudonym import ID_TYPES, IdProblem, Pseudonymiser
from products import inquiry_summary
from products.auth import Caller
from products.consents import ConsentCheck
from products.errors import ApiError, Forbidden, InvalidField, NotFoundError, id_error
from products.inquiry_log import InquiryLog, inquiry_source, now_ms
from products.lookups.borrower import day_end_utc
from products.models import BATCH_FIELD_MAX
from products.settings import ApiSettings
from warehouse import Warehouse

log = logging.getLogger(__name__)

INPUT_SCHEMA = pa.schema(
    [("line", pa.uint32()), ("borrower_key", pa.string()), ("consent_ref", pa.string()),
     ("error_code", pa.string()), ("error_field", pa.string())]
)  # fmt: skip
FIGURES = (
    "open_accounts", "open_institutions", "total_credit_amount", "open_balance",
    "overdue_accounts", "overdue_amount", "max_current_dpd", "written_off", "settled",
    "opened_3m", "new_account_institutions_3m", "inquiries_7d", "inquiry_institutions_7d",
    "inquiries_1m", "inquiries_3m", "inquiries_12m",
)  # fmt: skip


@dataclass
class Job:
    id: str
    member: str
    member_type: str
    key_id: str
    purpose: str
    as_of: str
    status: str  # queued | running | done | failed
    created_at: str
    borrowers: int
    invalid: int
    looked_up: int = 0
    refused: int = 0
    finished_at: str | None = None
    error: str | None = None
    source: str = "api"  # api | sftp
    #: SFTP jobs: the member's file ({"base", "file", "sha256", "received_at"})
    origin: dict[str, Any] | None = None
    #: where its inquiry counts split between the inquiry summary and ``inquiries`` (UTC text: a
    #: generation, or the 365-day window's first instant), chosen by its first run
    counted_through: str | None = None

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        for private in ("key_id", "member", "member_type", "counted_through"):
            out.pop(private)
        return out


def _utc_text(moment: dt.datetime) -> str:
    """A naive UTC datetime as the text the queries parse (``toDateTime64(…, 'UTC')``)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


CSV_COLUMNS = ("id_type", "id_number", "consent_ref", "name")


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a batch CSV (header ``id_type,id_number,consent_ref[,name]``), API or SFTP.

    Text the csv module cannot read (a bare CR inside an unquoted field, a field over its size
    limit) is refused 422 ``INVALID`` (field ``borrowers``) with its line, never a 500."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _read_csv(reader)
    except csv.Error as exc:
        raise InvalidField(
            f"the batch CSV is not RFC 4180 CSV at line {reader.line_num} ({exc}); lines end in "
            "CRLF or LF, a field holding a comma, quote or line break is quoted",
            field="borrowers",
        ) from None


def _read_csv(reader: csv.DictReader[str]) -> list[dict[str, Any]]:
    header = set(reader.fieldnames or [])
    missing = {"id_type", "id_number", "consent_ref"} - header
    unknown = header - set(CSV_COLUMNS)
    if missing or unknown:
        raise InvalidField(
            "a batch CSV needs the header id_type,id_number,consent_ref[,name]; "
            + (f"missing {', '.join(sorted(missing))}" if missing else "")
            + (f" unknown {', '.join(sorted(unknown))}" if unknown else ""),
            field="borrowers",
        )
    return list(reader)


def result_csv(path: Path) -> bytes:
    """A job's ``result.parquet`` as the CSV the API and the SFTP outbox give members."""
    buf = io.BytesIO()
    pacsv.write_csv(pq.read_table(path), buf)
    return buf.getvalue()


def parse_rows(rows: list[dict[str, Any]], pseud: Pseudonymiser) -> pa.Table:
    """Check and pseudonymise submitted rows; raw identities end here.

    Column-wise: the identity checks are :func:`exchange.identity.check_ids` (numpy, with the
    answers of :func:`exchange.pseudonym.check_id`, which it falls back to for the rows its fast
    path does not pass) and the keys one bulk HMAC pass. Row errors, in order of precedence:
    ``ID_TYPE``, the identity number's own problem, then ``CONSENT_REQUIRED``.
    """
    types = [str(r.get("id_type") or "").strip() for r in rows]
    numbers = [str(r.get("id_number") or "") for r in rows]
    consents = [str(r.get("consent_ref") or "").strip() for r in rows]
    return parse_columns(types, numbers, consents, pseud)


#: error code and field per :data:`exchange.identity.PROBLEMS` index (0: valid)
_PROBLEM_ERRORS = [("", "")] + [id_error(p.value) for p in PROBLEMS[1:] if p is not None]


def parse_columns(
    types: list[str], numbers: list[str], consents: list[str], pseud: Pseudonymiser
) -> pa.Table:
    """:func:`parse_rows` on columns (id types stripped, numbers as sent, consents stripped)."""
    n = len(types)
    type_array, number_array = _strings(types), _strings(numbers)
    problem, normalised = check_ids(type_array, number_array, dt.date.today())
    problem = problem.astype(np.int64)
    # check_ids leaves empty numbers to a "required" rule; check_id calls them too short
    problem[np.asarray(pc.equal(pc.binary_length(number_array), 0))] = _LENGTH
    problem[~np.asarray(pc.is_in(type_array, value_set=_ID_TYPES))] = _ID_TYPE
    consent_array = _strings(consents)
    consent_len = np.asarray(pc.utf8_length(consent_array))
    consent_bad = (problem == 0) & ((consent_len == 0) | (consent_len > 64))
    valid = np.flatnonzero((problem == 0) & ~consent_bad)
    codes = np.empty(n, dtype=object)
    fields = np.empty(n, dtype=object)
    for index, (code, field) in enumerate(_PROBLEM_ERRORS):
        hit = problem == index
        codes[hit], fields[hit] = code, field
    codes[consent_bad], fields[consent_bad] = "CONSENT_REQUIRED", "consent_ref"
    keys = np.full(n, "", dtype=object)
    if valid.size:
        at = pa.array(valid)
        messages = pc.binary_join_element_wise(
            pc.take(type_array, at), pc.take(normalised, at), ":"
        )
        text = pseud.macs(messages.cast(pa.binary()).to_pylist()).hex()
        keys[valid] = [text[i : i + 64] for i in range(0, len(text), 64)]
    return pa.table(
        [
            pa.array(np.arange(1, n + 1, dtype=np.uint32)),
            pa.array(keys, pa.string()),
            pc.utf8_slice_codeunits(consent_array, 0, 64),
            pa.array(codes, pa.string()),
            pa.array(fields, pa.string()),
        ],
        schema=INPUT_SCHEMA,
    )


def _strings(values: list[str]) -> pa.Array:
    """A string array; a lone surrogate (JSON allows ``"\\ud800"``) becomes U+FFFD, not a 500."""
    try:
        return pa.array(values, pa.string())
    except (UnicodeEncodeError, pa.ArrowException):
        return pa.array([_SURROGATE.sub("\ufffd", v) for v in values], pa.string())


_ID_TYPES = pa.array(ID_TYPES, pa.string())
_SURROGATE = re.compile("[\ud800-\udfff]")
_LENGTH = PROBLEMS.index(IdProblem.LENGTH)
_ID_TYPE = PROBLEMS.index(IdProblem.ID_TYPE)


def failure_message(exc: BaseException) -> str:
    """What a member is told about a job that failed on the exchange's side: what to do, never
    the exception (its class or text belong in the log only)."""
    if isinstance(exc, TransientError):
        return "the warehouse was unavailable while the job ran; submit the job again"
    return "the job failed on the exchange's side (the operators have the details); submit it again"


def check_rows(rows: list[Any]) -> None:
    """Refuse (422) a batch whose rows are out of shape: each row an object of the columns
    ``id_type, id_number, consent_ref, name`` only, each a string (or absent / null) of at most
    :data:`~products.models.BATCH_FIELD_MAX` characters. The field is
    ``borrowers.<index>[.<column>]`` (index from 0; the result's ``line`` is index + 1). Content
    (id checks, blank consent) is not checked here: a failing row stays in the job with its
    code."""
    for index, row in enumerate(rows):
        where = f"borrowers.{index}"
        if not isinstance(row, dict):
            raise InvalidField(f"{where}: every borrower must be an object", field=where)
        for key, value in row.items():
            limit = BATCH_FIELD_MAX.get(key) if isinstance(key, str) else None
            if limit is None:
                if key is None:  # a CSV row with more fields than its header
                    raise InvalidField(
                        f"{where} (line {index + 2} of the CSV) has more fields than the header "
                        "id_type,id_number,consent_ref[,name]", field=where,
                    )  # fmt: skip
                raise InvalidField(
                    f"{where}: unknown field {str(key)[:40]!r}; allowed: "
                    + ", ".join(BATCH_FIELD_MAX), field=f"{where}.{str(key)[:40]}",
                )  # fmt: skip
            if value is None:
                continue
            code = _SHAPE_CODES.get(key, "INVALID")
            if not isinstance(value, str):
                raise InvalidField(f"{where}.{key} must be a string", code=code,
                                   field=f"{where}.{key}")  # fmt: skip
            if len(value) > limit:
                raise InvalidField(
                    f"{where}.{key} has {len(value):,} characters; at most {limit} are allowed",
                    code=code, field=f"{where}.{key}",
                )  # fmt: skip


_OLD_FAILURE = re.compile(r"^internal error \(\w+\); retry$")
#: the code of a job refused for one column's shape: the lookups' code naming that field
_SHAPE_CODES = {"id_type": "ID_TYPE", "id_number": "ID_FORMAT", "consent_ref": "CONSENT_REQUIRED"}


class BatchJobs:
    """The jobs of this process: a directory per job and one worker thread."""

    def __init__(
        self, wh: Warehouse, logbook: InquiryLog, cfg: ApiSettings, root: Path,
        on_done: Callable[[Job], None] | None = None, consents: ConsentCheck | None = None,
    ) -> None:  # fmt: skip
        self._wh, self._log, self._cfg, self._root = wh, logbook, cfg, root
        self.on_done = on_done
        self._consents = consents
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        os.chmod(self._root, 0o700)
        regions.listed_mask()  # built once here rather than in the first job's request
        for meta in sorted(self._root.glob("*/job.json")):
            job = Job(**json.loads(meta.read_text()))
            if job.error and _OLD_FAILURE.match(job.error):  # written before it was reworded
                job.error = failure_message(Exception())
            self._jobs[job.id] = job
            if job.status in ("queued", "running"):
                job.status = "queued"
                self._queue.put(job.id)
        self._thread = threading.Thread(target=self._run, name="jdx-batch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=120)
            self._thread = None

    # -- API -----------------------------------------------------------------------------------

    def submit(
        self, caller: Caller, purpose: Purpose, as_of: dt.date, table: pa.Table, *,
        job_id: str | None = None, source: str = "api", origin: dict[str, Any] | None = None,
    ) -> Job:  # fmt: skip
        if self._cfg.consent_strict and self._consents is not None:
            table = self._consents.mark(table, caller.member_code, as_of)
        with self._lock:
            if job_id is not None and job_id in self._jobs:
                return self._jobs[job_id]
            busy = sum(
                1 for j in self._jobs.values()
                if j.member == caller.member_code and j.status in ("queued", "running")
            )  # fmt: skip
            if busy >= self._cfg.batch_max_queued:
                raise ApiError(
                    f"member {caller.member_code} has {busy} batch jobs queued or running (at most "
                    f"{self._cfg.batch_max_queued}); poll them and submit when one is done",
                    code="BATCH_BUSY",
                    status=429,
                )
            invalid = int(pc.sum(pc.not_equal(table["error_code"], "")).as_py() or 0)
            job = Job(
                id=job_id or uuid.uuid4().hex, member=caller.member_code,
                member_type=caller.member_type.value, key_id=caller.key_id,
                purpose=purpose.value, as_of=as_of.isoformat(), status="queued",
                created_at=now_ms().isoformat(), borrowers=table.num_rows, invalid=invalid,
                source=source, origin=origin,
            )  # fmt: skip
            folder = self._root / job.id
            folder.mkdir(mode=0o700)
            pq.write_table(table, folder / "input.parquet")
            self._save(job)
            self._jobs[job.id] = job
        self._queue.put(job.id)
        return job

    def find(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def jobs(self, source: str) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.source == source]

    def folder(self, job: Job) -> Path:
        return self._root / job.id

    def get(self, caller: Caller, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no batch job {job_id!r}", field="job_id")
        if job.member != caller.member_code:
            raise Forbidden(f"batch job {job_id} belongs to another member", code="NOT_OWNER")
        return job

    def result_path(self, caller: Caller, job_id: str) -> Path:
        job = self.get(caller, job_id)
        if job.status != "done":
            raise ApiError(
                f"batch job {job_id} is {job.status}; poll GET /v1/batch/{job_id} until done",
                code="BATCH_NOT_READY",
                status=409,
            )
        return self._root / job.id / "result.parquet"

    # -- worker --------------------------------------------------------------------------------

    def _save(self, job: Job) -> None:
        path = self._root / job.id / "job.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(job)))
        tmp.replace(path)

    def _run(self) -> None:
        while (job_id := self._queue.get()) is not None:
            job = self._jobs[job_id]
            job.status = "running"
            self._save(job)
            try:
                self.run_job(job)
                job.status = "done"
            except Exception as exc:
                log.exception("batch job %s failed", job.id)
                job.status, job.error = "failed", failure_message(exc)
            job.finished_at = now_ms().isoformat()
            self._save(job)
            if job.source != "api" and self.on_done is not None:
                try:
                    self.on_done(job)
                except Exception:
                    log.exception(
                        "answering batch job %s failed; retried at the next start", job.id
                    )

    def run_job(self, job: Job) -> None:
        folder = self._root / job.id
        rows = pq.read_table(folder / "input.parquet")
        valid = rows.filter(pc.equal(rows["error_code"], ""))
        as_of = dt.date.fromisoformat(job.as_of)
        keys = pa.table(
            {
                "job_id": pa.array([job.id] * valid.num_rows, pa.string()),
                "member_code": pa.array([job.member] * valid.num_rows, pa.string()),
                "line": valid["line"],
                "borrower_key": valid["borrower_key"],
            }
        )
        try:
            if keys.num_rows:
                self._wh.insert_arrow("batch_keys", keys)
            figures = self._figures(job, as_of)
        finally:
            self._wh.command("ALTER TABLE batch_keys DROP PARTITION {job:String}", job=job.id)
        result = rows.join(figures, "borrower_key", join_type="left outer").sort_by("line")
        result = self._finish(job, result)
        ok = result.filter(pc.equal(result["status"], "ok"))
        self._log_inquiries(job, ok)
        job.looked_up = ok.num_rows
        job.refused = result.num_rows - ok.num_rows - job.invalid
        pq.write_table(
            result.drop_columns(["borrower_key", "consent_ref"]), folder / "result.parquet"
        )

    def _figures(self, job: Job, as_of: dt.date) -> pa.Table:
        until = _utc_text(day_end_utc(as_of))
        accounts = self._wh.query_arrow(
            "batch_accounts", job=job.id, member=job.member, as_of=as_of,
            since_3m=as_of - dt.timedelta(days=90),
        )  # fmt: skip
        starts = {
            f"d{n}": _utc_text(day_end_utc(as_of - dt.timedelta(days=n))) for n in (7, 30, 90, 365)
        }
        days = {f"day{n}": as_of - dt.timedelta(days=n) for n in (7, 30, 90, 365)}
        through = self._through(job, as_of, starts["d365"])
        first = max(dt.datetime.fromisoformat(through), dt.datetime.fromisoformat(starts["d365"]))
        inquiries = self._wh.query_arrow(
            "batch_inquiries", job=job.id, source=inquiry_source(first), through=through,
            as_of=as_of, until=until, **starts, **days,
        )  # fmt: skip
        if inquiries.num_rows == 0:
            return accounts.join(inquiries, "borrower_key", join_type="left outer")
        return accounts.join(inquiries, "borrower_key", join_type="full outer")

    def _through(self, job: Job, as_of: dt.date, year_start: str) -> str:
        """Where the job's inquiry counts split (sql/queries/batch_inquiries.sql): the newest
        generation of the inquiry summary when it holds the job's year, else ``year_start``
        (every inquiry from ``inquiries``). Chosen once and saved with the job: run again after a
        crash — when a newer generation may hold the inquiries its first run logged, which the
        query leaves out of ``inquiries`` only — the job counts as its first run did while that
        generation is kept, and from ``inquiries`` alone once it is dropped."""
        generations = inquiry_summary.kept(self._wh)
        chosen = job.counted_through
        if chosen is not None and (
            chosen == year_start or chosen in {g.text() for g in generations}
        ):
            return chosen
        newest = generations[0] if generations else None
        if chosen is None and newest is not None and newest.holds(as_of):
            job.counted_through = newest.text()
        else:  # none holds its year, or its first run's was dropped since: ``inquiries`` alone
            job.counted_through = year_start
        self._save(job)
        return job.counted_through

    def _finish(self, job: Job, t: pa.Table) -> pa.Table:
        """Zeros for borrowers without rows, the POST_LOAN rule, alerts, a status per row."""
        n = t.num_rows
        cols: dict[str, Any] = {"line": t["line"]}
        for name in FIGURES:
            column = t[name] if name in t.column_names else pa.nulls(n, pa.uint64())
            zero = pa.scalar(0, column.type) if pa.types.is_decimal(column.type) else 0
            cols[name] = pc.fill_null(column, zero)
        own = pc.fill_null(t["own_accounts"], 0) if "own_accounts" in t.column_names else None
        code = t["error_code"].to_numpy(zero_copy_only=False).astype(object)
        field = t["error_field"].to_numpy(zero_copy_only=False).astype(object)
        if job.purpose == Purpose.POST_LOAN.value and own is not None:
            refuse = (code == "") & (own.to_numpy(zero_copy_only=False) == 0)
            code[refuse], field[refuse] = "POST_LOAN_NOT_ALLOWED", "purpose"
        cfg = self._cfg
        alerts = np.full(n, "", dtype=object)
        for flag, column, threshold in (
            ("INQUIRY_INSTITUTIONS_7D", "inquiry_institutions_7d", cfg.alert_inquiry_institutions_7d),
            ("NEW_ACCOUNT_INSTITUTIONS_3M", "new_account_institutions_3m",
             cfg.alert_new_account_institutions_3m),
            ("CURRENT_DPD", "max_current_dpd", cfg.alert_current_dpd),
        ):  # fmt: skip
            hit = cols[column].to_numpy(zero_copy_only=False) >= threshold
            alerts[hit] = np.where(alerts[hit] == "", flag, alerts[hit] + ";" + flag)
        status = np.where(code == "", "ok", "error")
        return pa.table(
            {
                "line": cols["line"],
                "status": pa.array(status, pa.string()),
                "error_code": pa.array(code, pa.string()),
                "error_field": pa.array(field, pa.string()),
                **{name: cols[name] for name in FIGURES},
                "alerts": pa.array(alerts, pa.string()),
                "borrower_key": t["borrower_key"],
                "consent_ref": t["consent_ref"],
            }
        )

    def _log_inquiries(self, job: Job, ok: pa.Table) -> None:
        """One inquiry per looked-up row. Ids are derived from (job, line) and the time is the
        job's submission, so a job run again after a crash logs the very same rows (readers
        count each ``inquiry_id`` once)."""
        n = ok.num_rows
        digests = b"".join(
            hashlib.sha256(f"{job.id}:{line}".encode()).digest()[:16]
            for line in ok["line"].to_pylist()
        )
        raw = np.frombuffer(digests, dtype=np.uint8).reshape(n, 16).copy()
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4 layout (random-looking, not random)
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
        ids = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw)])
        stamp = dt.datetime.fromisoformat(job.created_at)
        const = {
            "member_code": job.member, "member_type": job.member_type,
            "product": "BATCH", "purpose": job.purpose, "api_key_id": job.key_id,
            "batch_id": job.id,
        }  # fmt: skip
        table = pa.table(
            {
                "borrower_key": ok["borrower_key"],
                "queried_at": pa.array([stamp] * n, pa.timestamp("ms", tz="UTC")),
                "inquiry_id": ids,
                "consent_ref": ok["consent_ref"],
                **{k: pa.array([v] * n, pa.string()) for k, v in const.items()},
            }
        )
        self._log.record_batch(
            table, batch_id=job.id, member_code=job.member,
            actor=f"sftp:{job.member}" if job.source == "sftp" else f"api:{job.key_id}",
            digest=hashlib.sha256(raw.tobytes()).hexdigest(),
        )  # fmt: skip
