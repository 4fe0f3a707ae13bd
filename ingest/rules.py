"""The rule catalogue of ``loans/1`` validation (DOMAIN.md §2): every code an issue can carry.

Invariants:

* Codes are stable and never reused: a letter for the rule class and three digits whose first
  names the class too — ``F1xx`` file, ``V2xx`` field, ``X3xx`` cross-field, ``W4xx`` within
  file, ``H5xx`` against history, ``M6xx`` across members. New rules take the next free number.
* Severity decides the outcome: an ``error`` rejects the record (a file-class error rejects the
  file), a ``warning`` loads the record and counts in data quality, an ``info`` loads it and
  only flags it (a correction, an identity-conflict signal).
* Every message template names the field, the value received (``{value}``, masked for identity
  fields) and what is allowed. Placeholders are filled column-wise by :mod:`ingest.issues`.
* ``docs/rules.md`` is generated from this module by ``python -m ingest.catalogue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class RuleClass(StrEnum):
    FILE = "file"
    FIELD = "field"
    CROSS_FIELD = "cross-field"
    WITHIN_FILE = "within file"
    HISTORY = "history"
    ACROSS_MEMBERS = "across members"


CLASS_PREFIX = {
    RuleClass.FILE: "F1",
    RuleClass.FIELD: "V2",
    RuleClass.CROSS_FIELD: "X3",
    RuleClass.WITHIN_FILE: "W4",
    RuleClass.HISTORY: "H5",
    RuleClass.ACROSS_MEMBERS: "M6",
}


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    rule_class: RuleClass
    field: str  # a column; "*" for rules applied to several columns; "" for the file
    message: str  # template with {field}, {value} and rule-specific placeholders
    description: str
    loader_only: bool = False  # only the loader has what it takes to trigger it


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
C = RuleClass

CATALOGUE: tuple[Rule, ...] = (
    # ── file ─────────────────────────────────────────────────────────────────────────────
    Rule("F101", "FILE_NAME", E, C.FILE, "", "file name '{value}' is not <MEMBER>_<YYYYMMDD>_<SEQ>.loans.csv[.gz] with a real date and a 3-digit sequence", "The data file name follows the pattern, with the member code, a real calendar date and a 3-digit sequence."),
    Rule("F102", "FILE_MEMBER", E, C.FILE, "", "member code '{value}' in the file name is not the uploader '{uploader}'; a member uploads only its own files", "The member code in the file name is the uploading member's own."),
    Rule("F103", "CONTROL_SHAPE", E, C.FILE, "*", "control file{key}: {problem} (received {value}); expected {allowed}", 'The control file is a JSON object with exactly the keys spec, file, sha256 (64 hex), records (integer ≥ 0) and as_of (YYYY-MM-DD).'),
    Rule("F104", "CONTROL_FILE_NAME", E, C.FILE, "file", "control file names data file '{value}', not '{expected}' that it came with", "The control file's `file` is the data file's name."),
    Rule("F105", "SPEC_VERSION", E, C.FILE, "spec", "spec '{value}' is not supported; expected 'loans/1'", "The control file's `spec` is `loans/1`."),
    Rule("F106", "CHECKSUM", E, C.FILE, "sha256", "sha256 in the control file is {value} but the data file's is {actual}; upload the file again, then its control file", "The SHA-256 of the data file as received (compressed if .gz) equals the control file's `sha256`."),
    Rule("F107", "RECORD_COUNT", E, C.FILE, "records", "control file says {value} records, the data file has {actual}", "The control file's `records` equals the number of data records (rows after the header, blank lines not counted)."),
    Rule("F108", "ENCODING", E, C.FILE, "", "the file is not UTF-8 ({value}){hint}; save it as UTF-8", "The data file is UTF-8 (a byte-order mark is allowed). The first offending line is reported."),
    Rule("F109", "COMPRESSION", E, C.FILE, "", "the file is named .gz but cannot be decompressed ({value}); compress it with gzip", "A `.gz` data file is one valid gzip stream."),
    Rule("F110", "HEADER_EMPTY", E, C.FILE, "", "the file has no header row (received {value}); the first line names the columns", "The data file starts with a header row."),
    Rule("F111", "HEADER_MISSING_COLUMN", E, C.FILE, "*", "column {field} is missing from the header (received {value}); required columns: {allowed}", "The header names every column some record must fill (order is free)."),
    Rule("F112", "HEADER_UNKNOWN_COLUMN", E, C.FILE, "*", "column '{value}' is not in spec loans/1; allowed columns: {allowed}", "The header names only loans/1 columns."),
    Rule("F113", "HEADER_DUPLICATE_COLUMN", E, C.FILE, "*", "column {field} appears {value} times in the header; each column appears once", "No column appears twice in the header."),
    Rule("F114", "CONTROL_AS_OF", E, C.FILE, "as_of", "control as_of {value} is after the file date {file_date}; it may not be later", "The control file's `as_of` is not after the date in the file name."),
    Rule("F115", "DUPLICATE_FILE", E, C.FILE, "sha256", "a file with sha256 {value} was already received; nothing is loaded twice", "A data file identical (same SHA-256) to one already received gets a `duplicate` receipt and is not loaded again.", loader_only=True),
    Rule("F116", "FILE_TOO_LARGE", E, C.FILE, "", "the data file is {value} bytes (decompressed); the limit is {limit}: split it into files with further sequence numbers", "A data file holds at most 2 GiB (decompressed); a larger day is sent as several files (SEQ 001, 002, …)."),
    Rule("F117", "DATA_FILE_MISSING", E, C.FILE, "file", "no data file '{value}' arrived within {hours} h of its control file; nothing was loaded: upload the data file, then the control file again", "A control file's data file arrives before it or within `[ingest] orphan_control_hours` (default 24) after it; otherwise the control file is answered `rejected` and archived.", loader_only=True),
    Rule("F118", "LINE_TOO_LONG", E, C.FILE, "", "line {line} is {value} bytes long; the limit is {limit}: a record is one line (quoted line breaks included) of at most {limit} bytes", "No line of a data file (decompressed) is longer than `[ingest] max_line_bytes` (64 KiB); checked as the file streams, so a file of one endless line is refused without being read whole.", loader_only=True),
    Rule("F119", "TOO_MANY_RECORDS", E, C.FILE, "", "the file holds {value} records; the limit is {limit}: split it into files with further sequence numbers", "A data file holds at most `[ingest] max_records` records (5,000,000); a larger day is sent as several files (SEQ 001, 002, …).", loader_only=True),
    Rule("F120", "FILE_TOO_COMPLEX", E, C.FILE, "", "validating the file needed more than {limit} MiB of memory ({value}); nothing was loaded: split it into files with further sequence numbers", "Validating one data file may use at most `[ingest] validate_memory_mb` of memory (in a separate process, so no file can stop the exchange).", loader_only=True),
    Rule("F121", "PROCESSING_FAILED", E, C.FILE, "", "the exchange could not process this file in {attempts} attempts ({value}); nothing was loaded: send it again, and if it fails again tell the exchange the load id", "A file the exchange fails to process `[ingest] max_attempts` times (a fault on the exchange's side, or a file that stops it) is answered `rejected` and archived, so the member's later files go on.", loader_only=True),
    # ── field ────────────────────────────────────────────────────────────────────────────
    Rule("V201", "ROW_SHAPE", E, C.FIELD, "", "the record has {value} fields, the header has {expected}; quote values that contain commas", "Every record has as many fields as the header."),
    Rule("V202", "UNTERMINATED_QUOTE", E, C.FIELD, "", "a quote opened in this record is never closed, so it runs to the end of the file ({value} fields); a double quote inside a quoted value is written twice", "Every quoted value is closed (RFC 4180)."),
    Rule("V203", "REQUIRED", E, C.FIELD, "*", "{field} is empty (received '{value}'); it is required{scope}", "A required column has a value (record_type, account_id, id_type, id_number, as_of_date always; the other columns listed as required for A records)."),
    Rule("V204", "DATE_FORMAT", E, C.FIELD, "*", "{field} '{value}' is not an ISO date; expected YYYY-MM-DD", "Date columns are written YYYY-MM-DD."),
    Rule("V205", "DATE_INVALID", E, C.FIELD, "*", "{field} '{value}' is not a real calendar date from 1970-01-01 to 2149-06-06", "Date columns hold a real calendar date from 1970-01-01 to 2149-06-06 (the dates the warehouse stores)."),
    Rule("V206", "DECIMAL_TYPE", E, C.FIELD, "*", "{field} '{value}' is not a decimal number; expected {allowed}, e.g. 1234.50", "Amount columns hold a plain decimal number (digits, optional point; no sign other than -, no thousands separator, no exponent)."),
    Rule("V207", "DECIMAL_PLACES", E, C.FIELD, "*", "{field} '{value}' has more than 2 decimal places; expected {allowed}", "Amounts are exact to the fen: at most 2 decimal places."),
    Rule("V208", "INTEGER_TYPE", E, C.FIELD, "*", "{field} '{value}' is not an integer; expected {allowed}", "Count columns hold a whole number."),
    Rule("V209", "ENUM", E, C.FIELD, "*", "{field} '{value}' is not allowed; expected {allowed}", "Code columns hold one of their listed values (exact spelling, upper case)."),
    Rule("V210", "RANGE", E, C.FIELD, "*", "{field} {value} is out of range; expected {allowed}", "Numbers lie in their column's range (credit_amount > 0, amounts ≥ 0, counts 0–9999)."),
    Rule("V211", "ID_LENGTH", E, C.FIELD, "id_number", "id_number {value} has the wrong length for {id_type}; expected {allowed}", "A RIC has 18 characters; other documents 5–20 letters or digits."),
    Rule("V212", "ID_FORMAT", E, C.FIELD, "id_number", "id_number {value} has characters not allowed for {id_type}; expected {allowed}", "A RIC is 17 digits and a digit or X; other documents are letters A–Z and digits."),
    Rule("V213", "ID_CHECKSUM", E, C.FIELD, "id_number", "id_number {value}: the check digit is wrong (GB 11643, ISO 7064 MOD 11-2); check the number with the borrower", "The RIC's last character is its ISO 7064 MOD 11-2 check digit."),
    Rule("V214", "ID_BIRTH_DATE", E, C.FIELD, "id_number", "id_number {value}: the birth date in it is not a real date of a person aged 16–120 on the file date", "Digits 7–14 of a RIC are a real birth date of a person aged 16 to 120 on the file date."),
    Rule("V215", "ID_REGION", E, C.FIELD, "id_number", "id_number {value}: the first 6 digits are no region code GB/T 2260 has ever listed", "The first six digits of a RIC are a region code GB/T 2260 has listed at some time. It is the registration place when the number was issued, so a code first listed after the holder's birth is valid."),
    Rule("V216", "MOBILE", E, C.FIELD, "mobile", "mobile {value} is not a mainland mobile number; expected 11 digits starting with 1, or empty", "A mobile is 11 digits starting with 1 (no country prefix, no separators), or empty."),
    Rule("V217", "ACCOUNT_ID", E, C.FIELD, "account_id", "account_id '{value}' is not allowed; expected 1–64 of A–Z a–z 0–9 _ -", "An account_id is 1–64 characters of A–Z, a–z, 0–9, underscore and hyphen."),
    Rule("V218", "PROVINCE", E, C.FIELD, "province", "province '{value}' is not a GB/T 2260 province code; expected a 2-digit code such as 11, 31 or 44, or empty", "A province is a 2-digit GB/T 2260 province code, or empty (then it is taken from a RIC)."),
    Rule("V219", "TEXT_LENGTH", E, C.FIELD, "*", "{field} '{value}' is too long; expected {allowed}", "Free text stays within its column's length (name 100, consent_ref 128 characters)."),
    # ── cross-field (A records; a rule is checked only when its fields are valid) ───────
    Rule("X301", "OPENED_AFTER_AS_OF", E, C.CROSS_FIELD, "opened_date", "opened_date {value} is after as_of_date {as_of_date}; an account is opened on or before the state it reports", "opened_date ≤ as_of_date."),
    Rule("X302", "MATURITY_BEFORE_OPENED", E, C.CROSS_FIELD, "maturity_date", "maturity_date {value} is before opened_date {opened_date}; it must be on or after it", "maturity_date ≥ opened_date."),
    Rule("X303", "MATURITY_ON_REVOLVING", E, C.CROSS_FIELD, "maturity_date", "maturity_date {value} is set on a REVOLVING account; leave it empty for REVOLVING", "A REVOLVING account has no maturity_date."),
    Rule("X304", "INSTALLMENTS_ZERO", E, C.CROSS_FIELD, "installments", "installments is {value} but product is {product}; only REVOLVING accounts have 0 instalments", "installments is 0 only for REVOLVING."),
    Rule("X305", "INSTALLMENTS_ON_REVOLVING", E, C.CROSS_FIELD, "installments", "installments is {value} on a REVOLVING account; expected 0", "A REVOLVING account has 0 installments."),
    Rule("X306", "AS_OF_AFTER_FILE_DATE", E, C.CROSS_FIELD, "as_of_date", "as_of_date {value} is after the file date {file_date}; a state cannot be reported before its day", "as_of_date ≤ the date in the file name (A and D records)."),
    Rule("X307", "OVERDUE_PRINCIPAL_ABOVE_BALANCE", E, C.CROSS_FIELD, "overdue_principal", "overdue_principal {value} is more than balance {balance}; expected ≤ balance", "overdue_principal ≤ balance."),
    Rule("X308", "OVERDUE_PRINCIPAL_ABOVE_OVERDUE", E, C.CROSS_FIELD, "overdue_principal", "overdue_principal {value} is more than overdue_amount {overdue_amount}; expected ≤ overdue_amount", "overdue_principal ≤ overdue_amount."),
    Rule("X309", "DPD_WITHOUT_OVERDUE_AMOUNT", E, C.CROSS_FIELD, "dpd", "dpd is {value} but overdue_amount is {overdue_amount}; dpd > 0 needs an overdue_amount > 0", "dpd > 0 ⇒ overdue_amount > 0."),
    Rule("X310", "OVERDUE_AMOUNT_WITHOUT_DPD", E, C.CROSS_FIELD, "overdue_amount", "overdue_amount is {value} but dpd is 0; an amount past due needs dpd > 0", "overdue_amount > 0 ⇒ dpd > 0."),
    Rule("X311", "OVERDUE_STATUS_WITHOUT_DPD", E, C.CROSS_FIELD, "status", "status is {value} but dpd is 0; OVERDUE needs dpd > 0", "An OVERDUE account has dpd > 0."),
    Rule("X312", "DPD_ON_NORMAL_STATUS", E, C.CROSS_FIELD, "status", "status is {value} but dpd is {dpd}; an open account with dpd > 0 is OVERDUE", "An open account with dpd > 0 has status OVERDUE."),
    Rule("X313", "CLOSED_WITH_BALANCE", E, C.CROSS_FIELD, "balance", "balance is {value} on a CLOSED account; a CLOSED account has balance 0 (use SETTLED or WRITTEN_OFF if it ended owing)", "A CLOSED account has balance 0."),
    Rule("X314", "CLOSED_DATE_MISSING", E, C.CROSS_FIELD, "closed_date", "closed_date is empty (received '{value}') on a {status} account; CLOSED, SETTLED, WRITTEN_OFF and TRANSFERRED need the date the account ended", "closed_date is set for CLOSED, SETTLED, WRITTEN_OFF and TRANSFERRED."),
    Rule("X315", "WRITTEN_OFF_EARLY", W, C.CROSS_FIELD, "dpd", "dpd is {value} on a WRITTEN_OFF account; write-offs usually come at 90+ dpd", "A WRITTEN_OFF account with dpd < 90 is loaded with a warning."),
    Rule("X316", "CLOSED_DATE_OUT_OF_RANGE", E, C.CROSS_FIELD, "closed_date", "closed_date {value} is outside opened_date {opened_date} … as_of_date {as_of_date}", "opened_date ≤ closed_date ≤ as_of_date."),
    Rule("X317", "CLOSED_DATE_ON_OPEN_ACCOUNT", W, C.CROSS_FIELD, "closed_date", "closed_date {value} is set on a {status} account; an open account has no closed_date", "An open (NORMAL, OVERDUE) account with a closed_date is loaded with a warning."),
    # ── within file ──────────────────────────────────────────────────────────────────────
    Rule("W401", "DUPLICATE_RECORD", E, C.WITHIN_FILE, "account_id", "account_id '{value}' with as_of_date {as_of_date} appears {count} times in the file (lines {lines}); send one state per account and day", "(account_id, as_of_date) is unique within a file; every copy is rejected, since none can be preferred."),
    # ── against history ──────────────────────────────────────────────────────────────────
    Rule("H501", "DPD_JUMP", E, C.HISTORY, "dpd", "dpd {value} grew from {last_dpd} on {last_as_of} by more than the {days} days since; dpd grows at most one per day", "dpd − last dpd ≤ days between the last loaded as_of_date and this one."),
    Rule("H502", "IDENTITY_CHANGED", E, C.HISTORY, "id_number", "id_number {value} ({id_type}) is not the borrower this account was reported for; send D for the account, then A", "An account keeps its borrower (borrower key of id_type and id_number)."),
    Rule("H503", "OPENED_DATE_CHANGED", W, C.HISTORY, "opened_date", "opened_date {value} differs from {last_opened} loaded before", "A change of opened_date is loaded with a warning."),
    Rule("H504", "CORRECTION", INFO, C.HISTORY, "as_of_date", "as_of_date {value} is on or before the last loaded {last_as_of}: loaded as a correction", "A state on or before the account's last loaded as_of_date is accepted and flagged as a correction (its dpd growth is not checked)."),
    Rule("H505", "NEGATIVE_NOTICE_MISSING", W, C.HISTORY, "negative_notice_date", "negative_notice_date is empty (received '{value}') although dpd {dpd} is the account's first negative report; tell the borrower first and report the date", "When an account first reports dpd > 0, negative_notice_date says when the borrower was told."),
    Rule("H506", "DELETE_UNKNOWN_ACCOUNT", W, C.HISTORY, "account_id", "D record for account_id '{value}', which has no loaded state; nothing to delete", "A D record names an account the exchange holds."),
    # ── across members ───────────────────────────────────────────────────────────────────
    Rule("M601", "IDENTITY_CONFLICT", INFO, C.ACROSS_MEMBERS, "name", "name {value} differs from the name another member reports for this id_number; loaded, flagged for data quality", "The same borrower key with another name hash at another member is an identity-conflict signal for data quality, never a rejection."),
)  # fmt: skip

RULES: dict[str, Rule] = {r.code: r for r in CATALOGUE}
BY_NAME: dict[str, Rule] = {r.name: r for r in CATALOGUE}
LOADER_ONLY = tuple(r.code for r in CATALOGUE if r.loader_only)

#: The issues table: what ``<base>.errors.csv`` lists and the warehouse ``rejections`` keeps.
#: ``line`` is 0 for the whole file and 1 for the header; a record's line is where it starts.
ISSUE_SCHEMA = pa.schema(
    [
        pa.field("line", pa.uint32(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("field", pa.string(), nullable=False),
        pa.field("code", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),
    ]
)
