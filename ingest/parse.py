"""Reading a ``loans/1`` submission: file name, control file, bytes → string columns with lines.

Invariants:

* Nothing here raises on member input. Every problem becomes a :class:`FileIssue` (a file-class
  rule) or a :class:`Malformed` record (a row that cannot be read as one record); callers turn
  both into coded issues.
* Every value comes out as a non-null UTF-8 string, exactly as written (RFC 4180 unquoting only,
  no trimming); an empty field is ``""``. Typing is :mod:`ingest.validate`'s job.
* ``lines[i]`` is the physical line where record ``i`` starts (the header is line 1; blank lines
  are skipped but counted), also when quoted values contain line breaks.
* The fast path is pyarrow's multi-threaded CSV reader. Whenever its view of the file could
  differ from RFC 4180 (rows of the wrong width, an unclosed quote, a bare CR, a value larger
  than a block) the file is read again by Python's ``csv`` module, slower but exact.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from exchange.domain import FIRST_DAY, LAST_DAY
from ingest.spec import COLUMNS, FILE_NAME_PATTERN, SPEC

#: A data file larger than this (once decompressed) is refused with F116: one string column of a
#: bigger file could outgrow Arrow's 2 GiB limit, and a gzip bomb is never read to its end.
MAX_BYTES = (2 << 30) - 1
#: Unknown header columns reported one by one before the rest are summed up.
MAX_UNKNOWN_REPORTED = 50
_BOM = b"\xef\xbb\xbf"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CONTROL_KEYS = ("spec", "file", "sha256", "records", "as_of")
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


@dataclass(frozen=True)
class FileIssue:
    """A file-class problem: a rule code, the field (control key or column) and what was seen."""

    code: str
    field: str = ""
    value: str = ""
    line: int = 0
    params: dict[str, str | int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class FileName:
    name: str
    member: str
    file_date: dt.date
    seq: int
    compressed: bool

    @property
    def base(self) -> str:
        """``<MEMBER>_<YYYYMMDD>_<SEQ>``: the stem of ``<base>.ctl``, ``<base>.errors.csv`` …"""
        return f"{self.member}_{self.file_date:%Y%m%d}_{self.seq:03d}"


def parse_file_name(name: str) -> FileName | None:
    """The parts of ``<MEMBER>_<YYYYMMDD>_<SEQ>.loans.csv[.gz]``, or None if it is not one."""
    match = FILE_NAME_PATTERN.match(name)
    if not match:
        return None
    try:
        day = dt.datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError:
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        return None  # no date the warehouse could store: F101
    return FileName(name, match["member"], day, int(match["seq"]), bool(match["gz"]))


@dataclass(frozen=True)
class Control:
    spec: str
    file: str
    sha256: str
    records: int
    as_of: dt.date


def parse_control(raw: bytes | None) -> tuple[Control | None, list[FileIssue]]:
    """The control file's JSON, or the F103 issues that say why it is not one (all of them)."""
    shape = '{"spec": "loans/1", "file": "<data file>", "sha256": "<64 hex>", "records": <n>, "as_of": "YYYY-MM-DD"}'

    def bad(key: str, problem: str, value: object) -> FileIssue:
        text = (
            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        )
        where = f" key '{key}'" if key else ""
        return FileIssue("F103", key, text, 0, {"problem": problem, "allowed": shape, "key": where})

    if raw is None:
        return None, [bad("", "the control file is missing", "nothing")]
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, [
            bad("", f"not JSON ({type(exc).__name__})", raw[:40].decode("utf-8", "replace"))
        ]
    if not isinstance(doc, dict):
        return None, [bad("", "not a JSON object", doc)]
    issues = [bad(k, "unknown key", doc[k]) for k in doc if k not in _CONTROL_KEYS]
    issues += [bad(k, "missing key", "nothing") for k in _CONTROL_KEYS if k not in doc]
    spec, name, sha, records, as_of = (doc.get(k) for k in _CONTROL_KEYS)
    if "spec" in doc and not isinstance(spec, str):
        issues.append(bad("spec", "not a string", spec))
    if "file" in doc and not isinstance(name, str):
        issues.append(bad("file", "not a string", name))
    if "sha256" in doc and not (isinstance(sha, str) and _HEX64.match(sha.lower())):
        issues.append(bad("sha256", "not 64 hexadecimal characters", sha))
    if "records" in doc and (
        not isinstance(records, int) or isinstance(records, bool) or records < 0
    ):
        issues.append(bad("records", "not an integer ≥ 0", records))
    day: dt.date | None = None
    if "as_of" in doc:
        try:
            day = (
                dt.date.fromisoformat(as_of)
                if isinstance(as_of, str) and _ISO_DATE.match(as_of)
                else None
            )
        except ValueError:
            day = None
        if day is None:
            issues.append(bad("as_of", "not a date YYYY-MM-DD", as_of))
        elif not FIRST_DAY <= day <= LAST_DAY:
            issues.append(
                bad(
                    "as_of",
                    f"not a date from {FIRST_DAY} to {LAST_DAY} (what the exchange stores)",
                    as_of,
                )
            )
    if issues:
        return None, issues
    assert isinstance(spec, str) and isinstance(name, str) and isinstance(sha, str)
    assert isinstance(records, int) and day is not None
    return Control(spec, name, sha.lower(), records, day), []


def check_control(
    control: Control, data_name: str, sha256: str, records: int | None, file_date: dt.date | None
) -> list[FileIssue]:
    """F104–F107, F114: the control file against the data file it came with (``records`` is
    None when the data could not be read, so there is nothing to count)."""
    issues = []
    if control.spec != SPEC:
        issues.append(FileIssue("F105", "spec", control.spec))
    if control.file != data_name:
        issues.append(FileIssue("F104", "file", control.file, params={"expected": data_name}))
    if control.sha256 != sha256:
        issues.append(FileIssue("F106", "sha256", control.sha256, params={"actual": sha256}))
    if records is not None and control.records != records:
        issues.append(
            FileIssue("F107", "records", str(control.records), params={"actual": records})
        )
    if file_date is not None and control.as_of > file_date:
        issues.append(
            FileIssue(
                "F114",
                "as_of",
                control.as_of.isoformat(),
                params={"file_date": file_date.isoformat()},
            )
        )
    return issues


def decompress(data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[bytes | None, FileIssue | None]:
    """The content of a gzip file (all members), or None and the F109 issue."""
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while True:
            d = zlib.decompressobj(wbits=31)
            out.append(d.decompress(rest, max_bytes - size + 1))
            size += len(out[-1])
            if size > max_bytes:
                return None, FileIssue(
                    "F116", value=f"more than {max_bytes}", params={"limit": max_bytes}
                )
            if not d.eof:
                return None, FileIssue("F109", value="the gzip stream is cut short")
            rest = d.unused_data
            if not rest.strip(b"\0"):
                return b"".join(out), None
            if not rest.startswith(b"\x1f\x8b"):
                return None, FileIssue("F109", value="data after the end of the gzip stream")
    except zlib.error as exc:
        return None, FileIssue("F109", value=str(exc)[:60])


def utf8_problem(data: bytes) -> FileIssue | None:
    """F108 with the first offending line, or None when the bytes are UTF-8."""
    body = pa.Array.from_buffers(
        pa.large_binary(),
        1,
        [None, pa.py_buffer(np.array([0, len(data)], np.int64)), pa.py_buffer(data)],
    )
    try:
        body.cast(pa.large_string())
        return None
    except pa.ArrowInvalid:
        pass
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = ""
        if data.startswith(b"\x1f\x8b"):
            hint = " — it looks gzip-compressed: name it .gz"
        else:
            try:
                data.decode("gb18030")
                hint = " — it looks like GBK/GB18030"
            except UnicodeDecodeError:
                pass
        value = f"byte 0x{data[exc.start]:02X} at line {line}"
        return FileIssue("F108", value=value, line=line, params={"hint": hint})


@dataclass(frozen=True)
class Malformed:
    """A row that is not one record of the header's width (V201) or never closes a quote (V202)."""

    line: int
    fields: int
    account_id: str
    code: str = "V201"


@dataclass
class Records:
    """The data rows of a file as string columns (every spec column; absent ones all ``""``)."""

    header: list[str]
    columns: dict[str, pa.Array]
    lines: np.ndarray
    malformed: list[Malformed]
    issues: list[FileIssue]
    present: frozenset[str]

    @property
    def count(self) -> int:
        """Data records in the file (rows after the header that are not blank)."""
        return len(self.lines) + len(self.malformed)


def _header(data: bytes) -> tuple[list[str], bool]:
    """The header fields and whether the header is exactly the first physical line."""
    head = io.StringIO(data[: 1 << 20].decode("utf-8", "replace"), newline="")
    reader = csv.reader(head, strict=False)
    row = next(reader, [""])
    return (row or [""]), reader.line_num == 1


def header_issues(header: list[str], empty_file: bool = False) -> list[FileIssue]:
    """F111–F113 (F110 when there is no header at all)."""
    if not header or header == [""]:
        return [
            FileIssue(
                "F110", value="an empty file" if empty_file else "an empty first line", line=1
            )
        ]
    issues = []
    known = [c for c in header if c in COLUMNS]
    for name in dict.fromkeys(known):
        if known.count(name) > 1:
            issues.append(FileIssue("F113", name, str(known.count(name)), 1))
    allowed = ", ".join(COLUMNS)
    unknown = list(dict.fromkeys(c for c in header if c not in COLUMNS))
    for name in unknown[:MAX_UNKNOWN_REPORTED]:
        issues.append(FileIssue("F112", "", name, 1, {"allowed": allowed}))
    if len(unknown) > MAX_UNKNOWN_REPORTED:
        more = f"{len(unknown) - MAX_UNKNOWN_REPORTED} more unknown columns"
        issues.append(FileIssue("F112", "", more, 1, {"allowed": allowed}))
    required = [c.name for c in COLUMNS.values() if c.required.value != "no"]
    for name in required:
        if name not in header:
            issues.append(
                FileIssue("F111", name, "a header without it", 1, {"allowed": ", ".join(required)})
            )
    return issues


def read_records(data: bytes) -> Records:
    """The records of decompressed data-file bytes. Invalid UTF-8 is an F108 issue and is read
    with replacement characters, so the member still gets every record-level issue."""
    issues: list[FileIssue] = []
    problem = utf8_problem(data)
    if problem:
        issues.append(problem)
        data = data.decode("utf-8", "replace").encode("utf-8")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    header, single_line = _header(data)
    issues += header_issues(header, empty_file=header == [""] and not data.strip())
    if any(i.code == "F110" for i in issues):
        return Records(header, _empty_columns(0), np.zeros(0, np.int64), [], issues, frozenset())
    fast = _read_fast(data, header) if single_line else None
    columns, lines, malformed = fast if fast is not None else _read_exact(data, header)
    present = frozenset(c for c in header if c in COLUMNS)
    n = len(lines)
    for name in COLUMNS:
        if name not in columns:
            columns[name] = pa.array([""] * n, pa.string()) if n else pa.array([], pa.string())
    return Records(header, columns, lines, malformed, issues, present)


def _empty_columns(n: int) -> dict[str, pa.Array]:
    return {name: pa.array([""] * n, pa.string()) for name in COLUMNS}


def _kept(header: list[str]) -> dict[str, int]:
    """Spec columns to read and their position (the first one, if a column is repeated)."""
    kept: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in COLUMNS and name not in kept:
            kept[name] = i
    return kept


def _read_fast(
    data: bytes, header: list[str]
) -> tuple[dict[str, pa.Array], np.ndarray, list[Malformed]] | None:
    """pyarrow's reader and vectorised line numbers; None when only the exact reader can be sure."""
    has_quote = data.find(b'"') >= 0
    if data.find(b"\r") >= 0 and data.count(b"\r") != data.count(b"\r\n"):
        return None  # a bare CR: readers disagree on whether it ends a line
    kept = _kept(header)
    if not kept:
        return None
    names = [f"c{i}" for i in range(len(header))]
    invalid: list[int] = []

    def on_invalid(_row: object) -> str:
        invalid.append(1)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=has_quote, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                include_columns=[f"c{i}" for i in kept.values()],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if invalid:
        return None
    columns = {name: table.column(f"c{i}").combine_chunks() for name, i in kept.items()}
    if has_quote and (data.count(b'"') % 2 or any(_has_line_break(c) for c in columns.values())):
        return None  # a quote left open, or values spanning lines: the exact reader numbers them
    if has_quote and _unclosed(_last_line(data)):
        return None  # a quote opened in the last field and never closed (pyarrow accepts it)
    if _physical_lines(data) != table.num_rows + 1:
        return None  # blank lines between records
    return columns, np.arange(2, table.num_rows + 2, dtype=np.int64), []


def _has_line_break(values: pa.Array) -> bool:
    return bool(pc.any(pc.match_substring_regex(values, "[\\r\\n]")).as_py())


def _last_line(data: bytes) -> str:
    """The file's last line that is not empty, as text."""
    body = data.rstrip(b"\r\n")
    return body[body.rfind(b"\n") + 1 :].decode("utf-8", "replace")


def _physical_lines(data: bytes) -> int:
    """Lines of the file up to its last character that is not a line break."""
    tail = data[-65536:]
    trailing = tail.count(b"\n", len(tail.rstrip(b"\r\n")))
    return data.count(b"\n") - trailing + 1


def _read_exact(
    data: bytes, header: list[str]
) -> tuple[dict[str, pa.Array], np.ndarray, list[Malformed]]:
    """Python's csv module, record by record: exact line numbers, widths and quote errors."""
    text_lines = io.StringIO(data.decode("utf-8", "replace"), newline="").readlines()
    reader = csv.reader(text_lines, strict=False)
    kept = _kept(header)
    width = len(header)
    account_at = header.index("account_id") if "account_id" in header else -1
    values: dict[str, list[str]] = {name: [] for name in kept}
    lines: list[int] = []
    malformed: list[Malformed] = []
    next(reader, None)
    previous = reader.line_num
    last_start = 0
    for row in reader:
        start, previous = previous + 1, reader.line_num
        if not row:
            continue
        last_start = start
        if len(row) != width:
            account = row[account_at] if 0 <= account_at < len(row) else ""
            malformed.append(Malformed(start, len(row), account))
            continue
        lines.append(start)
        for name, i in kept.items():
            values[name].append(row[i])
    if last_start and _unclosed("".join(text_lines[last_start - 1 :])):
        if lines and lines[-1] == last_start:
            lines.pop()
            account = values["account_id"][-1] if "account_id" in values else ""
            for column in values.values():
                column.pop()
            malformed.append(Malformed(last_start, width, account, "V202"))
        elif malformed and malformed[-1].line == last_start:
            m = malformed.pop()
            malformed.append(Malformed(m.line, m.fields, m.account_id, "V202"))
    columns = {name: pa.array(v, pa.string()) for name, v in values.items()}
    return columns, np.array(lines, dtype=np.int64), malformed


def _unclosed(tail: str) -> bool:
    """Whether the text of the file's last record opens a quote it never closes."""
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


__all__ = [
    "Control",
    "FileIssue",
    "FileName",
    "Malformed",
    "Records",
    "check_control",
    "decompress",
    "parse_control",
    "parse_file_name",
    "read_records",
    "utf8_problem",
]
