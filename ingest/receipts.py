"""What a member gets back for a submission: ``<base>.receipt.json`` and ``<base>.errors.csv``.

Invariants:

* ``<base>.errors.csv`` is UTF-8 RFC 4180 CSV with the header ``line, account_id, field, code,
  severity, value, message`` and one row per issue, in the validator's order (line, field,
  code); values of identity fields are masked by the validator, never here. It is written for
  every submission (header only when there is nothing to report).
* ``<base>.receipt.json`` is one JSON object with the keys of :data:`RECEIPT_KEYS`: the status
  (``accepted``, ``partially_accepted``, ``rejected``, ``duplicate``), one sentence saying what
  happened, the file and its SHA-256, counts, issue counts by code (errors apart from warnings
  and infos), the data-quality score and dimension rates, the load id and the UTC times the
  submission was received and answered. It holds no record content.
* A control file whose data file never arrived (:func:`missing_data`) is answered like a file
  rejected by a file-level error: F117 naming the data file, plus the control file's own faults.
* Both are first written into the claim directory, then copied to ``outbox/`` by
  :func:`ingest.claims.publish` (atomically, receipt last).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from exchange.registry.submissions import SubmissionInfo
from ingest.dq import counts_by_code
from ingest.issues import IssueSink
from ingest.limits import Limits
from ingest.parse import FileIssue, FileName, check_control, parse_control, parse_file_name
from ingest.rules import ISSUE_SCHEMA, RULES, Severity
from ingest.validate import ROW_SCHEMA, Validation

#: SHA-256 of no bytes: what the ledger records for a submission whose data file never arrived.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

RECEIPT_KEYS = (
    "status",
    "message",
    "file",
    "control",
    "spec",
    "sha256",
    "as_of",
    "file_date",
    "load_id",
    "records",
    "accepted",
    "rejected",
    "warnings",
    "error_counts",
    "warning_counts",
    "dq_score",
    "dq",
    "dq_threshold",
    "dq_below_threshold",
    "errors_file",
    "duplicate_of",
    "received_at",
    "processed_at",
)


def timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_errors(out: BinaryIO, issues: pa.Table) -> None:
    """Write the errors file of ``issues`` (:data:`ingest.rules.ISSUE_SCHEMA` columns) to
    ``out``, 65,536 issues at a time (a file of faulty records has millions)."""
    table = issues.select(ISSUE_SCHEMA.names).cast(ISSUE_SCHEMA)
    pa_csv.write_csv(
        table, out, pa_csv.WriteOptions(quoting_style="needed", eol="\r\n", batch_size=65536)
    )


def errors_csv(issues: pa.Table) -> bytes:
    """The errors file of ``issues`` as bytes (small answers; see :func:`write_errors`)."""
    buffer = io.BytesIO()
    write_errors(buffer, issues)
    return buffer.getvalue()


def split_counts(counts: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Issue counts by code → (errors, warnings and infos)."""
    errors = {c: n for c, n in counts.items() if c in RULES and RULES[c].severity is Severity.ERROR}
    others = {c: n for c, n in counts.items() if c not in errors}
    return errors, others


def message(
    status: str,
    *,
    records: int,
    accepted: int,
    rejected: int,
    file_errors: list[str],
    errors_file: str,
    missing_data: str | None = None,
    duplicate_of: str | None = None,
    original_file: str | None = None,
) -> str:
    """One sentence a member's operator can act on."""
    if duplicate_of is not None:
        return (
            f"this file's {records} records were received before ({original_file}, load "
            f"{duplicate_of}, whose receipt and errors file stay in outbox/); nothing was loaded "
            "again. A corrected file must differ in content"
        )
    if missing_data is not None:
        return (
            f"no data file {missing_data} arrived with this control file; nothing was loaded. "
            "Upload the data file, then the control file again"
        )
    if status == "rejected" and file_errors:
        return (
            f"the file was rejected ({', '.join(file_errors)}); nothing was loaded. "
            f"{errors_file} lists every issue"
        )
    if status == "rejected":
        return f"no record was loaded: every record has an error ({errors_file} lists them)"
    if status == "partially_accepted":
        return (
            f"{accepted} of {records} records loaded, {rejected} rejected; "
            f"{errors_file} lists every issue"
        )
    return f"all {records} records loaded"


def build(**values: Any) -> dict[str, Any]:
    """A receipt with every key of :data:`RECEIPT_KEYS` (missing ones ``None``), in that order."""
    unknown = set(values) - set(RECEIPT_KEYS)
    if unknown:
        raise ValueError(f"not receipt keys: {sorted(unknown)}")
    return {key: values.get(key) for key in RECEIPT_KEYS}


def to_bytes(receipt: dict[str, Any]) -> bytes:
    return (json.dumps(receipt, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def for_validation(
    common: dict[str, Any],
    validation: Validation,
    *,
    dq_score: float | None,
    dq_rates: dict[str, float],
    dq_threshold: float,
    missing_data: str | None,
    processed_at: dt.datetime,
) -> dict[str, Any]:
    """The receipt of a validated (and loaded) file; ``common`` holds the file's own keys."""
    errors, others = split_counts(counts_by_code(validation.issue_table))
    status = validation.status
    accepted = validation.accepted_count
    return build(
        **common,
        status=status,
        message=message(
            status,
            records=validation.records,
            accepted=accepted,
            rejected=validation.rejected,
            file_errors=sorted(c for c in errors if c.startswith("F")),
            errors_file=str(common["errors_file"]),
            missing_data=missing_data,
        ),
        records=validation.records,
        accepted=accepted,
        rejected=validation.rejected,
        warnings=validation.warnings,
        error_counts=errors,
        warning_counts=others,
        dq_score=dq_score,
        dq={k: round(v, 6) for k, v in dq_rates.items()},
        dq_threshold=dq_threshold,
        dq_below_threshold=dq_score is not None and dq_score < dq_threshold,
        processed_at=timestamp(processed_at),
    )


def for_duplicate(
    common: dict[str, Any],
    original: SubmissionInfo | None,
    processed_at: dt.datetime,
    dq_threshold: float,
) -> dict[str, Any]:
    """The receipt of a file whose bytes were loaded before: nothing loaded, F115 reported.

    ``records`` is what the file holds (the same bytes as the ``original`` load, whose records
    the ledger counted); ``duplicate_of`` and the message point to that load and its answer."""
    duplicate_of = original.load_id if original else None
    records = original.records if original else 0
    return build(
        **common,
        status="duplicate",
        message=message(
            "duplicate",
            records=records,
            accepted=0,
            rejected=0,
            file_errors=[],
            errors_file=str(common["errors_file"]),
            duplicate_of=duplicate_of,
            original_file=original.file_name if original else None,
        ),
        records=records,
        accepted=0,
        rejected=0,
        warnings=0,
        error_counts={"F115": 1},
        warning_counts={},
        duplicate_of=duplicate_of,
        dq_threshold=dq_threshold,
        processed_at=timestamp(processed_at),
    )


def missing_data(data_name: str, control: bytes, *, waited_hours: float) -> Validation:
    """The validation of a control file whose data file never arrived (F117): the control file's
    own issues (F103, F105) besides, nothing read, nothing loaded; status ``rejected``."""
    issue = FileIssue("F117", field="file", value=data_name, params={"hours": f"{waited_hours:g}"})
    return file_rejected(data_name, control, [issue], EMPTY_SHA256, check=False)


def file_rejected(
    data_name: str,
    control: bytes,
    issues: list[FileIssue],
    sha256: str,
    *,
    file_name: FileName | None = None,
    check: bool = True,
) -> Validation:
    """The validation of a file rejected before its records were read (a bound crossed as it
    streamed, a failed validation, a missing data file): ``issues``, then the file name's and
    the control file's own problems (F101–F106, F114 with ``check``); nothing read or loaded."""
    name = file_name or parse_file_name(data_name)
    parsed, control_issues = parse_control(control)
    found = list(issues)
    if check and name is None:
        found.append(FileIssue("F101", value=data_name))
    found += control_issues
    if check and parsed is not None:
        found += check_control(parsed, data_name, sha256, None, name.file_date if name else None)
    sink = IssueSink(np.zeros(0, np.int64), pa.array([], pa.string()), None)
    for issue in found:
        sink.add_file(
            issue.code, field=issue.field, value=issue.value, line=issue.line, params=issue.params
        )
    file_date = name.file_date if name else parsed.as_of if parsed else None
    return Validation(data_name, name, sha256, 0, ROW_SCHEMA.empty_table(), sink.table(), file_date)


def control_too_large(size: int, limits: Limits) -> FileIssue:
    """F103 for a control file too large to be read."""
    return FileIssue(
        "F103",
        value=f"{size} bytes",
        params={
            "problem": f"larger than {limits.max_control_bytes} bytes",
            "allowed": "a small JSON object (spec, file, sha256, records, as_of)",
            "key": "",
        },
    )


def duplicate_issues(sha256: str) -> pa.Table:
    """The one issue of a duplicate file (F115), as the validator words it."""
    sink = IssueSink(np.zeros(0, np.int64), pa.array([], pa.string()), None)
    sink.add_file("F115", field="sha256", value=sha256)
    return sink.table().drop_columns(["row"])
