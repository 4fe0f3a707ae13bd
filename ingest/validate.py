"""Validation of one ``loans/1`` submission: every rule of ``ingest.rules``, every fault reported.

Entry points:

* :func:`validate_submission` — file name, data bytes, control bytes, uploader and pseudonymiser
  in; a :class:`Validation` out. With ``history`` / ``other_members`` it also applies the history
  and across-member rules (:mod:`ingest.history`); a loader that must first learn which accounts
  and borrowers the file names calls it without them, fetches the reference data for
  ``validation.rows``, then calls :func:`ingest.history.apply_reference`.

Invariants:

* Pure: no I/O, never raises on member input; every problem is an issue row with a catalogue
  code. Ages and dates are judged against the file date (only a file with neither a valid name
  nor a valid control file, rejected anyway, falls back to today's date).
* Errors reject their record; a file-class error rejects the file (then nothing is accepted,
  but record issues are still all reported so the member can fix everything at once); warnings
  and infos load the record and appear in its ``flags``.
* ``rows`` and ``accepted`` never hold a raw id_number, name or mobile: only the keyed hashes of
  :class:`exchange.pseudonym.Pseudonymiser`, the province and the birth year. The raw values
  never leave validation: ``masked_identity`` holds their masks (as the errors file prints
  them) for the loader's later checks (history, across members).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Container, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exchange.pseudonym import Pseudonymiser, normalise_name
from ingest import parts
from ingest.crossfield import check_cross_fields, check_duplicates
from ingest.fields import DECIMAL, Typed, check_fields, flag
from ingest.issues import INTERNAL_SCHEMA, IssueSink, mask_ids, mask_names
from ingest.parse import (
    MAX_BYTES,
    FileIssue,
    FileName,
    Records,
    check_control,
    decompress,
    parse_control,
    parse_file_name,
    read_records,
)
from ingest.rules import ISSUE_SCHEMA, RULES, Severity
from ingest.spec import LOANS_V1_COLUMNS

_DATES = ("opened_date", "maturity_date", "as_of_date", "closed_date", "negative_notice_date")
_AMOUNTS = (
    "credit_amount",
    "balance",
    "scheduled_amount",
    "paid_amount",
    "overdue_amount",
    "overdue_principal",
)
_COUNTS = ("installments", "dpd", "overdue_installments")

#: Typed records: what ``rows`` (every readable record) and ``accepted`` (plus ``flags``) hold.
ROW_SCHEMA = pa.schema(
    [pa.field("row", pa.int64()), pa.field("line", pa.uint32())]
    + [
        pa.field(
            name,
            pa.date32()
            if name in _DATES
            else DECIMAL
            if name in _AMOUNTS
            else pa.uint16()
            if name in _COUNTS
            else pa.string(),
        )
        for name in LOANS_V1_COLUMNS
        if name not in ("id_number", "name", "mobile", "five_class")
    ]
    + [
        pa.field("five_class", pa.uint8()),
        pa.field("borrower_key", pa.string()),
        pa.field("name_hash", pa.string()),
        pa.field("mobile_hash", pa.string()),
        pa.field("birth_year", pa.uint16()),
    ]
)
ACCEPTED_SCHEMA = ROW_SCHEMA.append(pa.field("flags", pa.list_(pa.string())))
#: ``Validation.masked_identity``
MASKED_SCHEMA = pa.schema([pa.field("id_number", pa.string()), pa.field("name", pa.string())])


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one file. ``issues`` is what ``<base>.errors.csv`` lists."""

    file_name: str
    file: FileName | None
    sha256: str
    records: int  # data records in the file, readable or not
    rows: pa.Table  # ROW_SCHEMA: every readable record, typed; invalid values are null
    issue_table: pa.Table  # INTERNAL_SCHEMA: issues with the row they belong to (-1: none)
    file_date: dt.date | None = None
    #: per row of ``rows``: ``id_number`` and ``name`` masked as the errors file prints them
    #: (:func:`ingest.issues.mask_ids`, :func:`ingest.issues.mask_names`; "" where the identity
    #: is invalid or the name absent), for the issues of later checks
    masked_identity: pa.Table = field(
        default_factory=lambda: MASKED_SCHEMA.empty_table(), repr=False
    )

    @cached_property
    def issues(self) -> pa.Table:
        """ISSUE_SCHEMA: line, account_id, field, code, severity, value (masked), message."""
        return self.issue_table.drop_columns(["row"]).cast(ISSUE_SCHEMA)

    @property
    def issue_as_of_dates(self) -> pa.Array:
        """Per issue, the as_of_date of its record (null: no record, or none readable)."""
        rows = np.asarray(self.issue_table.column("row"), dtype=np.int64)
        if "as_of_date" not in self.rows.column_names or self.rows.num_rows == 0:
            return pa.nulls(len(rows), pa.date32())
        dates = self.rows.column("as_of_date").combine_chunks()
        picked = pc.take(dates, pa.array(np.maximum(rows, 0)))
        return pc.if_else(pa.array(rows >= 0), picked, pa.scalar(None, pa.date32()))

    @cached_property
    def counts(self) -> dict[str, int]:
        """Issues by code."""
        if self.issue_table.num_rows == 0:
            return {}
        counted = pc.value_counts(self.issue_table.column("code")).to_pylist()
        return {c["values"]: c["counts"] for c in sorted(counted, key=lambda c: c["values"])}

    @cached_property
    def _severity_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each issue's row, whether it is an error, whether a warning (booleans, not strings:
        a file of faulty records has millions of issues)."""
        rows = np.asarray(self.issue_table.column("row"))
        severity = self.issue_table.column("severity")
        return rows, flag(pc.equal(severity, "error")), flag(pc.equal(severity, "warning"))

    @cached_property
    def file_rejected(self) -> bool:
        """Whether a file-class error rejects the whole file."""
        codes = pc.unique(self.issue_table.column("code")).to_pylist()
        return any(c.startswith("F") and RULES[c].severity is Severity.ERROR for c in codes)

    @cached_property
    def rejected_rows(self) -> np.ndarray:
        """Indices into ``rows`` of records with at least one error of their own."""
        rows, error, _ = self._severity_rows
        return np.unique(rows[error & (rows >= 0)])

    @property
    def rejected(self) -> int:
        """Records not loaded: all of them when the file is rejected, else those with an error
        (unreadable rows included)."""
        if self.file_rejected:
            return self.records
        return self.records - self.rows.num_rows + len(self.rejected_rows)

    @cached_property
    def _flag_pairs(self) -> tuple[np.ndarray, pa.Array]:
        """The (row, code) pairs of accepted records' warnings and infos, sorted by row."""
        rows, error, _ = self._severity_rows
        noted = ~error & (rows >= 0)
        pairs = (
            pa.table({"row": rows[noted], "code": self.issue_table.column("code").filter(noted)})
            .group_by(["row", "code"], use_threads=False)
            .aggregate([])
            .sort_by([("row", "ascending"), ("code", "ascending")])
        )
        return np.asarray(pairs.column("row"), dtype=np.int64), pairs.column(
            "code"
        ).combine_chunks()

    @property
    def accepted_count(self) -> int:
        """Records to load (without building them)."""
        return 0 if self.file_rejected else self.rows.num_rows - len(self.rejected_rows)

    def accepted_blocks(self, block_rows: int) -> Iterator[pa.Table]:
        """ACCEPTED_SCHEMA: the records to load, with the warning and info codes they carry, in
        blocks of at most ``block_rows`` records of the file: only one block is built at a time
        (the rows themselves may be a memory-mapped file, :mod:`ingest.worker`)."""
        if self.file_rejected:
            return
        n = self.rows.num_rows
        keep = np.ones(n, dtype=bool)
        keep[self.rejected_rows] = False
        pair_rows, codes = self._flag_pairs
        for start in range(0, n, block_rows):
            end = min(n, start + block_rows)
            lo, hi = (int(i) for i in np.searchsorted(pair_rows, [start, end]))
            per_row = np.bincount(pair_rows[lo:hi] - start, minlength=end - start)
            offsets = np.concatenate(([0], np.cumsum(per_row))).astype(np.int32)
            flags = pa.ListArray.from_arrays(pa.array(offsets), codes.slice(lo, hi - lo))
            block = self.rows.slice(start, end - start).append_column("flags", flags)
            yield block.filter(pa.array(keep[start:end]))

    @property
    def accepted(self) -> pa.Table:
        """ACCEPTED_SCHEMA: every record to load, as one table (see :meth:`accepted_blocks`)."""
        blocks = list(self.accepted_blocks(max(1, self.rows.num_rows)))
        return blocks[0] if blocks else ACCEPTED_SCHEMA.empty_table()

    @property
    def warnings(self) -> int:
        """Accepted records that carry at least one warning."""
        rows, _, warning = self._severity_rows
        warned = np.unique(rows[warning & (rows >= 0)])
        return int(np.setdiff1d(warned, self.rejected_rows).size) if not self.file_rejected else 0

    @property
    def status(self) -> str:
        """``accepted``, ``partially_accepted``, ``rejected`` or ``duplicate`` (for the receipt)."""
        if "F115" in self.counts:
            return "duplicate"
        if self.file_rejected or (self.records and self.accepted_count == 0):
            return "rejected"
        return "accepted" if self.rejected == 0 else "partially_accepted"


def validate_submission(
    file_name: str,
    data: bytes,
    control: bytes | None,
    *,
    uploader: str,
    pseudonymiser: Pseudonymiser,
    history: pa.Table | None = None,
    other_members: pa.Table | None = None,
    received_sha256: Container[str] = frozenset(),
    max_bytes: int = MAX_BYTES,
    sha256: str | None = None,
    processes: int = 1,
    min_part_rows: int = parts.MIN_PART_ROWS,
    part_dir: str | None = None,
) -> Validation:
    """Validate one data file and its control file as ``uploader`` sent them.

    ``received_sha256`` answers "was a file with this SHA-256 received before?" (F115 duplicate:
    nothing else is checked). ``history`` and ``other_members``: see :mod:`ingest.history`.
    ``max_bytes`` bounds the (decompressed) data file (F116). ``sha256``: the data's digest when
    the caller has it already (the loader computes it for its ledger before validating).
    ``processes``, ``min_part_rows``, ``part_dir``: see :func:`validate_records`.
    """
    known = sha256
    with ThreadPoolExecutor(1) as pool:  # hashing releases the GIL: it overlaps with parsing
        digest = pool.submit(lambda: known or hashlib.sha256(data).hexdigest())
        name = parse_file_name(file_name)
        file_issues: list[FileIssue] = []
        if name is None:
            file_issues.append(FileIssue("F101", value=file_name))
        elif name.member != uploader:
            file_issues.append(FileIssue("F102", value=name.member, params={"uploader": uploader}))
        compressed = name.compressed if name else file_name.endswith(".gz")
        content: bytes | None = data
        if compressed:
            content, problem = decompress(data, max_bytes=max_bytes)
            if problem:
                file_issues.append(problem)
        elif len(data) > max_bytes:
            content = None
            file_issues.append(FileIssue("F116", value=str(len(data)), params={"limit": max_bytes}))
        records = read_records(content) if content is not None else None
        sha256 = digest.result()
    if sha256 in received_sha256:
        sink = IssueSink(np.zeros(0, np.int64), pa.array([], pa.string()), None)
        sink.add_file("F115", field="sha256", value=sha256)
        return Validation(
            file_name,
            name,
            sha256,
            0,
            ROW_SCHEMA.empty_table(),
            sink.table(),
            name.file_date if name else None,
        )
    parsed_control, control_issues = parse_control(control)
    file_issues += control_issues
    count = records.count if records is not None else None
    if parsed_control is not None:
        file_issues += check_control(
            parsed_control, file_name, sha256, count, name.file_date if name else None
        )
    file_date = name.file_date if name else parsed_control.as_of if parsed_control else None
    validation = validate_records(
        file_name,
        name,
        sha256,
        records,
        file_issues,
        file_date,
        pseudonymiser,
        processes=processes,
        min_part_rows=min_part_rows,
        part_dir=part_dir,
    )
    if history is not None or other_members is not None:
        from ingest.history import apply_reference

        validation = apply_reference(validation, history=history, other_members=other_members)
    return validation


def validate_records(
    file_name: str,
    name: FileName | None,
    sha256: str,
    records: Records | None,
    file_issues: list[FileIssue],
    file_date: dt.date | None,
    pseudonymiser: Pseudonymiser,
    *,
    processes: int = 1,
    min_part_rows: int = parts.MIN_PART_ROWS,
    part_dir: str | None = None,
) -> Validation:
    """Field, cross-field and within-file rules over parsed records, plus pseudonymisation.

    ``processes`` > 1: the records' own rules and hashes in up to that many processes, parts of
    at least ``min_part_rows`` records (:mod:`ingest.parts`; only a process that may fork), their
    results passed back through unnamed files in ``part_dir``."""
    if records is None:
        sink = IssueSink(np.zeros(0, np.int64), pa.array([], pa.string()), None)
        _add_file_issues(sink, file_issues)
        return Validation(
            file_name, name, sha256, 0, ROW_SCHEMA.empty_table(), sink.table(), file_date
        )
    columns = records.columns
    sink = IssueSink(records.lines, columns["account_id"], columns["id_type"])
    _add_file_issues(sink, file_issues + records.issues)
    for bad in records.malformed:
        sink.add_file(
            bad.code,
            value=str(bad.fields),
            line=bad.line,
            account_id=bad.account_id,
            params={"expected": len(records.header)},
        )
    today = file_date or dt.date.today()
    lines = records.lines

    def check(start: int, stop: int) -> parts.Part:
        """The rules of every record of rows ``start:stop`` on their own, and their pseudonyms."""
        n = stop - start
        whole = n == len(lines)
        cut = columns if whole else {k: c.slice(start, n) for k, c in columns.items()}
        part_sink = (
            sink if whole else IssueSink(lines[start:stop], cut["account_id"], cut["id_type"])
        )
        typed = check_fields(cut, records.present, part_sink, today)
        check_cross_fields(cut, typed, part_sink, file_date)
        rows = _typed_rows(cut, typed, lines[start:stop], pseudonymiser)
        valid_id = pa.array(typed.ok["id_number"])
        masked = pa.table(
            {
                "id_number": pc.if_else(
                    valid_id, mask_ids(cut["id_type"], typed.id_normalised), ""
                ),
                "name": mask_names(cut["name"]),
            },
            schema=MASKED_SCHEMA,
        )
        return rows, INTERNAL_SCHEMA.empty_table() if whole else part_sink.table(), masked

    done = parts.in_parts(check, parts.plan(len(lines), processes, min_part_rows), part_dir)
    for _, part_issues, _ in done:
        sink.add_table(part_issues)
    check_duplicates(columns, lines, sink)
    rows = pa.concat_tables([r for r, _, _ in done]) if len(done) > 1 else done[0][0]
    masked = pa.concat_tables([m for _, _, m in done]) if len(done) > 1 else done[0][2]
    return Validation(file_name, name, sha256, records.count, rows, sink.table(), file_date, masked)


def _add_file_issues(sink: IssueSink, issues: list[FileIssue]) -> None:
    for issue in issues:
        sink.add_file(
            issue.code, field=issue.field, value=issue.value, line=issue.line, params=issue.params
        )


def _typed_rows(
    columns: dict[str, pa.Array], typed: Typed, lines: np.ndarray, pseudonymiser: Pseudonymiser
) -> pa.Table:
    n = len(lines)
    v = typed.values
    valid_id = typed.ok["id_number"]
    id_type = columns["id_type"]
    keys, names, mobiles = _pseudonyms(columns, typed, pseudonymiser)
    ric = valid_id & flag(pc.equal(id_type, "RIC"))
    from_id = pc.if_else(pa.array(ric), pc.utf8_slice_codeunits(typed.id_normalised, 0, 2), "")
    province = pc.if_else(pa.array(typed.ok["province"]), columns["province"], from_id)
    year_text = pc.if_else(pa.array(ric), pc.utf8_slice_codeunits(typed.id_normalised, 6, 10), "0")
    birth_year = pc.cast(year_text, pa.uint16())
    five = pc.if_else(pa.array(typed.ok["five_class"]), columns["five_class"], "0")
    data: dict[str, pa.Array] = {
        "row": pa.array(np.arange(n, dtype=np.int64)),
        "line": pa.array(lines, pa.uint32()),
    }
    for name in ROW_SCHEMA.names[2:]:
        if name in v:
            data[name] = v[name]
    data.update(
        province=province,
        five_class=pc.cast(five, pa.uint8()),
        borrower_key=keys,
        name_hash=names,
        mobile_hash=mobiles,
        birth_year=birth_year,
    )
    return pa.table([data[f.name] for f in ROW_SCHEMA], schema=ROW_SCHEMA)


#: Names made only of CJK Unified Ideographs are their own normal form (NFKC leaves them alone,
#: they hold no space or dot and casefold() keeps them): their hash message needs no Python.
_PLAIN_NAME = r"^[\x{4E00}-\x{9FFF}]+$"
#: Each byte value's two hex characters, as one little-endian uint16 (a digest becomes text with
#: one table lookup).
_HEX_PAIRS = np.array(
    [ord(f"{b:02x}"[0]) | ord(f"{b:02x}"[1]) << 8 for b in range(256)], dtype="<u2"
)


def _messages(values: pa.Array, where: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Distinct ``values`` under ``where`` and each row's index into them (null elsewhere)."""
    if where.all():
        encoded = pc.dictionary_encode(values)
    else:
        encoded = pc.dictionary_encode(
            pc.if_else(pa.array(where), values, pa.scalar(None, pa.string()))
        )
    return encoded.dictionary, encoded.indices


def _name_messages(names: pa.Array) -> pa.Array:
    """``name:`` + :func:`exchange.pseudonym.normalise_name` of each (distinct) name."""
    plain = flag(pc.match_substring_regex(names, _PLAIN_NAME))
    if plain.all():
        normalised = names
    else:
        odd = np.flatnonzero(~plain)
        fixed = [normalise_name(n) for n in pc.take(names, pa.array(odd)).to_pylist()]
        mask = np.zeros(len(names), dtype=bool)
        mask[odd] = True
        normalised = pc.replace_with_mask(names, pa.array(mask), pa.array(fixed, pa.string()))
    return pc.binary_join_element_wise("name:", normalised, "")


def hex_digests(digests: bytes) -> pa.Array:
    """32-byte digests, concatenated, as 64-character lower-case hex strings."""
    raw = np.frombuffer(digests, dtype=np.uint8)
    n = raw.size // 32
    text = _HEX_PAIRS[raw]
    offsets = np.arange(0, 64 * (n + 1), 64, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(text)])


def _pseudonyms(
    columns: dict[str, pa.Array], typed: Typed, pseudonymiser: Pseudonymiser
) -> list[pa.Array]:
    """borrower_key, name_hash and mobile_hash of every row, ``""`` where the value is absent or
    invalid: the messages of :class:`exchange.pseudonym.Pseudonymiser` built column-wise, one
    HMAC per distinct message.

    * ``<id_type>:<number>`` of a valid identity: ``typed.id_normalised`` is already
      ``normalise_id``'s form (it is what the identity checks passed);
    * ``name:<normalise_name(name)>`` of a present name;
    * ``mobile:<mobile>`` of a valid mobile (11 digits starting with 1 are their own normal form).
    """
    keys, key_rows = _messages(
        pc.binary_join_element_wise(columns["id_type"], typed.id_normalised, ":"),
        typed.ok["id_number"],
    )
    names, name_rows = _messages(columns["name"], ~typed.empty["name"])
    mobiles, mobile_rows = _messages(columns["mobile"], typed.ok["mobile"])
    parts = [
        keys,
        _name_messages(names),
        pc.binary_join_element_wise("mobile:", mobiles, ""),
    ]
    out = []
    for part, rows in zip(parts, (key_rows, name_rows, mobile_rows), strict=True):
        # one column at a time: its hex digests stay within a string array's 2 GiB
        hashed = hex_digests(pseudonymiser.macs(part.cast(pa.binary()).to_pylist()))
        out.append(pc.fill_null(pc.take(hashed, rows), ""))
    return out
