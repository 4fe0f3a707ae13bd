"""Members' ``loans/1`` files (DOMAIN.md §2) with control files, optional faults and a manifest.

Layout under the output directory: ``<MEMBER>/<MEMBER>_<YYYYMMDD>_<SEQ>.loans.csv[.gz]`` and
its control file ``<MEMBER>/<MEMBER>_<YYYYMMDD>_<SEQ>.ctl`` — one directory per member, as each
member's SFTP inbox would receive them — and ``manifest.json`` (files and injected faults).

* Monthly mode: one file per member and month; the file date is the day after the month end
  (the reporting day) and every record's ``as_of_date`` is the month end. A member without
  records that month still sends a file with the header only.
* Daily mode: one file per member and day that has records; file date = ``as_of_date``.
* CSV: UTF-8, RFC 4180 with CRLF line ends, header = ``LOANS_V1_COLUMNS``; no value needs quotes.
  Empty optional values are empty fields.
* Control file: ``{"spec": "loans/1", "file": ..., "sha256": ..., "records": n, "as_of": ...}``
  with the SHA-256 of the data file as written (compressed when ``.gz``).
* Gzip streams carry no name and mtime 0, so the bytes depend only on the content.

Everything is deterministic: same industry and arguments → byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import gzip as gzip_module
import hashlib
import io
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from exchange.domain import LOANS_V1_COLUMNS, SPEC_LOANS_V1
from exchange.pseudonym import ID_TYPES
from simulator import faults as fault_catalogue
from simulator.faults import FAULTS, InjectedFault, Row
from simulator.industry import Industry
from simulator.months import month_end, to_date
from simulator.records import RecordView, as_of_days

MANIFEST = "manifest.json"
_CSV_OPTIONS = pa_csv.WriteOptions(quoting_style="none", quoting_header="none", eol="\r\n")


@dataclass(frozen=True)
class WrittenFile:
    member: str
    data: str  # path relative to the output directory
    control: str
    records: int  # data records in the file (an injected duplicate counts)
    as_of: str
    file_date: str
    sha256: str


@dataclass(frozen=True)
class WriteResult:
    out_dir: Path
    files: list[WrittenFile]
    faults: list[InjectedFault]

    @property
    def manifest(self) -> Path:
        return self.out_dir / MANIFEST


@dataclass(frozen=True)
class _Group:
    """One data file to write: its rows (positions in the month's row order) and dates."""

    member: int
    start: int
    stop: int
    as_of: int  # day number
    file_date: int


def write_files(
    industry: Industry,
    out_dir: Path | str,
    *,
    daily: bool = False,
    gzip: bool = False,
    error_rate: float = 0.0,
    faults: Iterable[str] | None = None,
    seq: int = 1,
    last_months: int | None = None,
    on_month: Callable[[int, int], None] | None = None,
) -> WriteResult:
    """Write every member's files for every reported month; return what was written.

    ``last_months`` writes only the files of the last so many months (e.g. 1 for the latest
    month's upload); faults then go only into those files. ``on_month(done, months)`` is called
    after each month (a progress bar).

    ``error_rate`` is the share of records given a record-level fault; ``faults`` names the
    kinds (catalogue names or the groups ``all``, ``record``, ``file``; default every
    record-level kind when ``error_rate`` > 0). Named kinds are injected at least once each;
    each file-level kind goes to one file. ``out_dir`` must be empty or not exist.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"output directory {out} is not empty; choose a new or empty directory")
    if not 0.0 <= error_rate <= 0.5:
        raise ValueError(f"error_rate must be between 0 and 0.5; received {error_rate}")
    if not 1 <= seq <= 998:
        raise ValueError(f"seq must be 1–998; received {seq}")
    if last_months is not None and not 1 <= last_months <= industry.months:
        raise ValueError(f"last_months must be 1–{industry.months}; received {last_months}")
    first_written = industry.months - last_months if last_months else 0
    kinds: tuple[str, ...] = ()
    if faults is not None or error_rate > 0:
        kinds = fault_catalogue.resolve_kinds(faults)
    out.mkdir(parents=True, exist_ok=True)

    r = industry.records
    bounds = np.searchsorted(r.month, np.arange(industry.months + 1))
    orders: list[np.ndarray] = []
    groups: list[list[_Group]] = []
    for t in range(industry.months):
        if t < first_written:  # not written: no rows, no files
            orders.append(np.arange(0))
            groups.append([])
            continue
        order, month_groups = _plan_month(industry, t, int(bounds[t]), int(bounds[t + 1]), daily)
        orders.append(order)
        groups.append(month_groups)

    rng = np.random.default_rng([industry.seed, 0xFA17])
    file_faults = _choose_file_faults(rng, groups, kinds)
    excluded = np.zeros(len(r), dtype=bool)
    excluded[: bounds[first_written]] = True
    for t, g in file_faults:
        excluded[orders[t][groups[t][g].start : groups[t][g].stop]] = True
    count = round(error_rate * int(len(r) - bounds[first_written]))
    if faults is not None:  # named kinds: each at least once
        count = max(count, sum(not FAULTS[k].file_level for k in kinds))
    record_faults = fault_catalogue.choose_record_faults(
        rng, industry, kinds, count, excluded, first_written
    )

    fault_rows = np.array(sorted(record_faults), dtype=np.int64)
    written: list[WrittenFile] = []
    injected: list[InjectedFault] = []
    for t in range(industry.months):
        order = orders[t]
        table = RecordView(industry, order, daily=daily).file_table() if len(order) else None
        for g_index, group in enumerate(groups[t]):
            rows = order[group.start : group.stop]
            part = None if table is None else table.slice(group.start, group.stop - group.start)
            file_kind = file_faults.get((t, g_index))
            hit = np.flatnonzero(np.isin(rows, fault_rows))
            marks = [(int(i), record_faults[int(rows[i])]) for i in hit]
            files, found = _write_one(
                industry, out, group, part, marks, file_kind, rng, gzip=gzip, seq=seq
            )
            written.extend(files)
            injected.extend(found)
        if on_month is not None:
            on_month(t + 1, industry.months)

    manifest = {
        "spec": SPEC_LOANS_V1,
        "seed": industry.seed,
        "months": industry.month_labels()[first_written:],
        "daily": daily,
        "gzip": gzip,
        "error_rate": error_rate,
        "fault_kinds": list(kinds),
        "members": [
            {"code": m.code, "name": m.name, "type": str(m.type), "joined": m.joined.isoformat()}
            for m in industry.members
        ],
        "files": [asdict(f) for f in written],
        "faults": [asdict(f) for f in injected],
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
    (out / MANIFEST).write_text(text + "\n", encoding="utf-8")
    return WriteResult(out_dir=out, files=written, faults=injected)


def _plan_month(
    industry: Industry, t: int, lo: int, hi: int, daily: bool
) -> tuple[np.ndarray, list[_Group]]:
    """Row order of month ``t`` (record indices) and its files."""
    rows = np.arange(lo, hi)
    member = industry.accounts.member[industry.records.account[rows]].astype(np.int64)
    groups: list[_Group] = []
    if not daily:
        as_of = int(month_end(industry.first_month + t))
        starts = np.searchsorted(member, np.arange(len(industry.members) + 1))
        for m in range(len(industry.members)):
            groups.append(_Group(m, int(starts[m]), int(starts[m + 1]), as_of, as_of + 1))
        return rows, groups
    days = as_of_days(industry, rows, daily=True)
    order = np.lexsort((days, member))  # stable: keeps the serial order within a day
    rows, member, days = rows[order], member[order], days[order]
    key = member * 100_000 + days
    edges = np.r_[0, np.flatnonzero(key[1:] != key[:-1]) + 1, len(rows)]
    for s, e in itertools.pairwise(edges):
        if e > s:
            groups.append(_Group(int(member[s]), int(s), int(e), int(days[s]), int(days[s])))
    return rows, groups


def _choose_file_faults(
    rng: np.random.Generator, groups: list[list[_Group]], kinds: tuple[str, ...]
) -> dict[tuple[int, int], str]:
    """(month, file index) → file-level fault, one file each, on files with records."""
    wanted = [k for k in kinds if FAULTS[k].file_level]
    if not wanted:
        return {}
    candidates = [
        (t, g) for t, gs in enumerate(groups) for g, x in enumerate(gs) if x.stop > x.start
    ]
    if len(candidates) < len(wanted):
        raise ValueError(
            f"{len(wanted)} file-level fault kinds need as many files with records; "
            f"the simulation has {len(candidates)}"
        )
    picked = rng.choice(len(candidates), size=len(wanted), replace=False)
    return {candidates[int(p)]: kind for p, kind in zip(picked, wanted, strict=True)}


def _write_one(
    industry: Industry,
    out: Path,
    group: _Group,
    table: pa.Table | None,
    marks: list[tuple[int, str]],
    file_kind: str | None,
    rng: np.random.Generator,
    *,
    gzip: bool,
    seq: int,
) -> tuple[list[WrittenFile], list[InjectedFault]]:
    member = industry.members[group.member]
    file_date = to_date(group.file_date)
    code = member.code
    if file_kind == "wrong_member_code":
        code = industry.members[(group.member + 1) % len(industry.members)].code
    base = f"{code}_{file_date:%Y%m%d}_{seq:03d}"
    data_name = f"{base}.loans.csv" + (".gz" if gzip else "")
    rel_data = f"{member.code}/{data_name}"
    if table is None:
        table = pa.table({c: pa.array([], pa.string()) for c in LOANS_V1_COLUMNS})
    table, lines = _apply_record_faults(industry, table, marks, rng, file_date)
    found = [
        InjectedFault(rel_data, line, kind, FAULTS[kind].rule_class, FAULTS[kind].field, acct)
        for line, kind, acct in lines
    ]
    if file_kind == "unknown_column":
        table = table.append_column("remark", pa.array([""] * table.num_rows, pa.string()))
    if file_kind == "missing_column":
        table = table.drop_columns(["consent_ref"])
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, _CSV_OPTIONS)
    payload = buffer.getvalue()
    file_line = 0  # where the fault shows: the whole file, the header (1) or a data line
    if file_kind in ("unknown_column", "missing_column"):
        file_line = 1
    if file_kind == "bad_encoding":
        payload = payload.decode("utf-8").encode("gb18030")
        file_line = _first_undecodable_line(payload)
    if gzip:
        payload = gzip_module.compress(payload, compresslevel=6, mtime=0)
    digest = hashlib.sha256(payload).hexdigest()
    control = {
        "spec": "loans/2" if file_kind == "wrong_spec" else SPEC_LOANS_V1,
        "file": data_name,
        "sha256": hashlib.sha256(payload + b"\n").hexdigest()
        if file_kind == "wrong_checksum"
        else digest,
        "records": table.num_rows + (1 if file_kind == "wrong_record_count" else 0),
        "as_of": to_date(group.as_of).isoformat(),
    }
    folder = out / member.code
    folder.mkdir(exist_ok=True)
    files = [
        _put(
            folder,
            member.code,
            base,
            data_name,
            payload,
            control,
            table.num_rows,
            digest,
            file_date,
        )
    ]
    if file_kind is not None:
        found.append(
            InjectedFault(rel_data, file_line, file_kind, "file", FAULTS[file_kind].field, "")
        )
    if file_kind == "duplicate_file":
        base2 = f"{code}_{file_date:%Y%m%d}_{seq + 1:03d}"
        name2 = f"{base2}.loans.csv" + (".gz" if gzip else "")
        control2 = {**control, "file": name2}
        files.append(
            _put(
                folder,
                member.code,
                base2,
                name2,
                payload,
                control2,
                table.num_rows,
                digest,
                file_date,
            )
        )
        found[-1] = InjectedFault(f"{member.code}/{name2}", 0, file_kind, "file", "sha256", "")
    return files, found


def _first_undecodable_line(payload: bytes) -> int:
    for number, line in enumerate(payload.split(b"\r\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return number
    return 0


def _put(
    folder: Path,
    member: str,
    base: str,
    data_name: str,
    payload: bytes,
    control: dict[str, object],
    records: int,
    digest: str,
    file_date: dt.date,
) -> WrittenFile:
    (folder / data_name).write_bytes(payload)
    (folder / f"{base}.ctl").write_text(json.dumps(control) + "\n", encoding="utf-8")
    return WrittenFile(
        member=member,
        data=f"{member}/{data_name}",
        control=f"{member}/{base}.ctl",
        records=records,
        as_of=str(control["as_of"]),
        file_date=file_date.isoformat(),
        sha256=digest,
    )


def _apply_record_faults(
    industry: Industry,
    table: pa.Table,
    marks: list[tuple[int, str]],
    rng: np.random.Generator,
    file_date: dt.date,
) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """Apply record faults; return the table and (line, kind, account_id) of each fault."""
    if not marks:
        return table, []
    changes: dict[str, dict[int, str | None]] = {}
    for position, kind in marks:
        row: Row = {c: table.column(c)[position].as_py() for c in table.column_names}

        def other_identity(row: Row = row) -> Row:
            return _other_borrower(industry, rng, row["id_number"] or "", bool(row["mobile"]))

        for column, value in fault_catalogue.mutate(
            kind, row, rng, file_date, other_identity
        ).items():
            changes.setdefault(column, {})[position] = value
    for column, values in changes.items():
        current = table.column(column).to_pylist()
        for position, value in values.items():
            current[position] = value
        table = table.set_column(
            table.column_names.index(column), column, pa.array(current, pa.string())
        )
    # duplicates: repeat the record on the next line
    duplicated = sorted(p for p, k in marks if k == "duplicate_record")
    take = list(range(table.num_rows))
    for p in reversed(duplicated):
        take.insert(p + 1, p)
    if duplicated:
        table = table.take(pa.array(take))
    line_of: dict[int, int] = {}
    seen: set[int] = set()
    for index, p in enumerate(take):
        if p in seen:
            line_of[-p - 1] = index + 2  # the repeated copy is the faulty line
        seen.add(p)
        line_of.setdefault(p, index + 2)
    account = table.column("account_id").to_pylist()
    lines = []
    for p, kind in marks:
        line = line_of[-p - 1] if kind == "duplicate_record" else line_of[p]
        lines.append((line, kind, account[line - 2] or ""))
    return table, sorted(lines)


def _other_borrower(
    industry: Industry, rng: np.random.Generator, current: str, mobile: bool
) -> Row:
    b = industry.borrowers
    while True:
        i = int(rng.integers(0, len(b)))
        if b.id_type[i] == 0 and b.id_number[i] != current:
            other: Row = {
                "id_type": ID_TYPES[0],
                "id_number": str(b.id_number[i]),
                "name": str(b.name[i]),
            }
            if mobile:  # a member that reports mobiles reports the other borrower's
                other["mobile"] = str(b.mobile[i])
            return other
