"""Control files of spec ``loans/1`` (DOMAIN.md §2), as the member tool ``jdx submit`` writes them.

``<base>.ctl`` (``<base>`` = :func:`ingest.areas.base_name` of the data file name, i.e.
``<MEMBER>_<YYYYMMDD>_<SEQ>``) is JSON ``{"spec", "file", "sha256", "records", "as_of"}`` where

- ``file`` is the data file's name, ``<MEMBER>_<YYYYMMDD>_<SEQ>.loans.csv[.gz]``;
- ``sha256`` is the hex SHA-256 of the file's bytes *as uploaded* (compressed, for ``.gz``);
- ``records`` counts the CSV rows after the header, read as RFC 4180 (a quoted field may hold a
  line break) after decompression; blank lines are not records;
- ``as_of`` is the latest ``as_of_date`` in the file, unless the member gives it.

No paramiko here: the loader may use :func:`parse_data_name` and :class:`ControlFile` as well.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from exchange.domain import SPEC_LOANS_V1
from ingest.areas import base_name
from ingest.errors import BadDataFile

DATA_NAME = re.compile(
    r"^(?P<member>[A-Z][A-Z0-9]{2,11})_(?P<day>\d{8})_(?P<seq>\d{3})\.loans\.csv(?P<gz>\.gz)?$"
)
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class DataName:
    member: str
    day: date
    seq: str
    gzip: bool

    @property
    def base(self) -> str:
        """``<MEMBER>_<YYYYMMDD>_<SEQ>`` (see :func:`ingest.areas.base_name`)."""
        return base_name(f"{self.member}_{self.day:%Y%m%d}_{self.seq}.loans.csv")


def parse_data_name(name: str) -> DataName:
    """Split a data file name; raise :class:`BadDataFile` naming the expected pattern."""
    m = DATA_NAME.fullmatch(name)
    day: date | None = None
    if m:
        try:
            day = date(int(m["day"][:4]), int(m["day"][4:6]), int(m["day"][6:]))
        except ValueError:
            day = None
    if m is None or day is None:
        raise BadDataFile(
            f"data file name {name!r} is not <MEMBER>_<YYYYMMDD>_<SEQ>.loans.csv[.gz] "
            "(e.g. ABC_20240131_001.loans.csv.gz; SEQ is 3 digits, the date a real day)"
        )
    return DataName(m["member"], day, m["seq"], bool(m["gz"]))


@dataclass(frozen=True)
class ControlFile:
    file: str
    sha256: str
    records: int
    as_of: date
    spec: str = SPEC_LOANS_V1

    def to_json(self) -> bytes:
        body = {
            "spec": self.spec,
            "file": self.file,
            "sha256": self.sha256,
            "records": self.records,
            "as_of": self.as_of.isoformat(),
        }
        return (json.dumps(body, indent=2) + "\n").encode()

    @property
    def name(self) -> str:
        """``<base>.ctl``."""
        return parse_data_name(self.file).base + ".ctl"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _rows(path: Path, compressed: bool) -> Generator[list[str]]:
    with path.open("rb") as raw:
        if compressed:
            with (
                gzip.GzipFile(fileobj=raw, mode="rb") as gz,
                io.TextIOWrapper(gz, encoding="utf-8-sig", newline="") as text,
            ):
                yield from csv.reader(text)
        else:
            with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
                yield from csv.reader(text)


def count_records(path: Path, compressed: bool) -> tuple[int, date | None]:
    """Data rows after the header and the latest valid ``as_of_date`` (None if there is none)."""
    records = 0
    latest: date | None = None
    rows = _rows(path, compressed)
    try:
        header = next(rows, None)
        if header is None:
            raise BadDataFile(f"{path.name}: the file is empty; it needs at least a header row")
        col = header.index("as_of_date") if "as_of_date" in header else None
        for row in rows:
            if not row:
                continue
            records += 1
            if col is not None and col < len(row):
                try:
                    day = date.fromisoformat(row[col])
                except ValueError:
                    continue  # the loader reports it; the control file needs only the latest
                latest = day if latest is None or day > latest else latest
    except UnicodeDecodeError as exc:
        raise BadDataFile(f"{path.name}: not UTF-8 at byte {exc.start} ({exc.reason})") from None
    except (OSError, EOFError, csv.Error) as exc:
        raise BadDataFile(
            f"{path.name}: cannot be read as CSV{' in gzip' * compressed}: {exc}"
        ) from None
    finally:
        rows.close()  # closes the file even when reading stopped early
    return records, latest


def build_control(path: Path, as_of: date | None = None) -> ControlFile:
    """The control file for the data file at ``path``; ``as_of`` overrides the file's latest date."""
    name = parse_data_name(path.name)
    records, latest = count_records(path, name.gzip)
    day = as_of or latest
    if day is None:
        raise BadDataFile(
            f"{path.name}: no valid as_of_date found (column missing or every value invalid); "
            "give the reporting date with --as-of YYYY-MM-DD"
        )
    return ControlFile(file=path.name, sha256=sha256_file(path), records=records, as_of=day)
