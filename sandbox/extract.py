"""A lab project's de-identified extract, built from the warehouse at approval.

What an extract holds (docs/lab.md has the column list): every account's month-end state in the
project's months, with

- ``borrower`` = BLAKE2b keyed with the salt (RFC 7693's MAC mode) of "borrower:" + warehouse
  key, 16 bytes as 32 hex characters; ``account`` the same of "account:" + member + ":" +
  account id;
- ``institution`` a project-local label (``I001`` …, numbered in the order of the members' HMACs,
  so a label tells nothing about the member code) beside ``institution_type``, the type code;
- dates as months; ``birth_year`` coarsened to the first year of its five-year band;
- amounts, dpd and status codes as they are.

Invariants: the salt is 32 random bytes drawn for each build and never stored or logged, so
keys are unlinkable across projects, across rebuilds and to the warehouse (whose keys are
themselves HMACs of the pepper); no member code, account id, warehouse key, name or mobile
reaches a file. Files are written into a temporary directory beside the target and renamed into
place when complete; the directory and its files are then read-only (0550/0440; the project's
group is given read access by :func:`sandbox.isolation.provision`). Beside it,
``work/`` gets a copy of the example (:mod:`sandbox.examples.logit_90dpd`). The extract's
fingerprint (SHA-256 over each file's name and SHA-256) is what the registry records.

``sample.parquet`` beside ``accounts.parquet`` holds every row of 1 % of the borrowers (chosen
by their salted key, :func:`in_sample`), for trying code in a notebook before it runs on
everything as a model-to-data job.

The build runs where the warehouse is (``runtime.commands``' ``lab.approve``, through the admin
channel while ``jdx serve`` owns an embedded warehouse). It reads a month at a time, and a large
month in slices of the borrower-key range of about ``ROWS_PER_READ`` rows (the table is ordered
by borrower key, so a slice reads only its granules), appending Parquet row groups to both
files: its memory is bounded by the slice, neither by the month nor the project
(``bench/lab.py`` measures it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sandbox.errors import ExtractExists

DATA_FILE = "accounts.parquet"
SAMPLE_FILE = "sample.parquet"
SAMPLE_CUT = 656  # of 65,536: 1.0 % of the borrowers
ROW_GROUP = 256_000
ROWS_PER_READ = 1_000_000  # rows of one read of the warehouse (a slice of a month's key range)
MANIFEST_FILE = "manifest.json"
KEY_HEX = 32
EXAMPLE = Path(__file__).resolve().parent / "examples" / "logit_90dpd.py"


@dataclass(frozen=True)
class Extract:
    path: Path  # the project's data directory
    rows: int
    sha256: str  # fingerprint over the files
    files: dict[str, str]  # file name -> SHA-256


def keyed_hex(salt: bytes, prefix: str) -> Callable[[bytes], str]:
    """``v -> BLAKE2b(prefix + v)`` keyed with ``salt`` (RFC 7693's keyed mode, a MAC like
    HMAC), 16 bytes as KEY_HEX hex digits. The keyed state after ``prefix`` is made once and
    copied per value: one hash per value instead of HMAC's two, about 5x faster than
    ``hmac.new`` per value (``bench/lab.py``)."""
    base = hashlib.blake2b(key=salt, digest_size=KEY_HEX // 2)
    base.update(prefix.encode())
    copy = base.copy

    def one(value: bytes) -> str:
        h = copy()
        h.update(value)
        return h.hexdigest()

    return one


def _keyed(salt: bytes, prefix: str, values: pa.Array) -> pa.Array:
    """Key every distinct value once and map the column through the results."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    one = keyed_hex(salt, prefix)
    keys = [one(v) for v in encoded.dictionary.cast(pa.binary()).to_pylist()]
    return pc.take(pa.array(keys, pa.string()), encoded.indices)


def labels_for(members: list[str], salt: bytes) -> dict[str, str]:
    """Project-local institution labels, numbered in the order of the members' HMACs."""
    ordered = sorted(
        set(members), key=lambda m: hmac.new(salt, b"member:" + m.encode(), hashlib.sha256).digest()
    )
    return {m: f"I{i:03d}" for i, m in enumerate(ordered, 1)}


def deidentify(table: pa.Table, salt: bytes, labels: dict[str, str] | None = None) -> pa.Table:
    """The extract's table from ``lab_extract_accounts`` rows (see the module docstring)."""
    if labels is None:
        labels = labels_for(table.column("member_code").to_pylist(), salt)
    member = table.column("member_code").combine_chunks()
    account_ids = pc.binary_join_element_wise(member, table.column("account_id"), ":")
    encoded = pc.dictionary_encode(member)
    institution = pc.take(
        pa.array([labels[m] for m in encoded.dictionary.to_pylist()], pa.string()),
        encoded.indices,
    )
    years = np.asarray(table.column("birth_year").to_numpy(), dtype=np.int32)
    band = pa.array(years - years % 5, pa.int32(), mask=years == 0)
    return pa.table(
        {
            "month": table.column("month"),
            "borrower": _keyed(salt, "borrower:", table.column("borrower_key")),
            "account": _keyed(salt, "account:", account_ids),
            "institution": institution,
            "institution_type": table.column("member_type"),
            "birth_year_band": band,
            "product": table.column("product"),
            "guarantee": table.column("guarantee"),
            "opened_month": table.column("opened_month"),
            "closed_month": table.column("closed_month"),
            "credit_amount": table.column("credit_amount"),
            "balance": table.column("balance"),
            "scheduled_amount": table.column("scheduled_amount"),
            "paid_amount": table.column("paid_amount"),
            "overdue_amount": table.column("overdue_amount"),
            "dpd": table.column("dpd"),
            "overdue_installments": table.column("overdue_installments"),
            "status": table.column("status"),
            "five_class": table.column("five_class"),
        }
    )


def in_sample(borrowers: pa.Array | pa.ChunkedArray) -> pa.Array:
    """True for the 1 % sample's borrowers: the first 4 hex digits of the (salted) project key
    under 656 of 65,536 (1.0 %); a borrower is in or out for all their rows."""
    if isinstance(borrowers, pa.ChunkedArray):
        borrowers = borrowers.combine_chunks()
    # the keys are lower-case hex: 4 digits compare as strings as they do as numbers
    head = pc.utf8_slice_codeunits(borrowers, 0, 4)
    return pc.less(head, pa.scalar(f"{SAMPLE_CUT:04x}"))


def key_ranges(rows: int, per_read: int) -> list[tuple[str, str]]:
    """Slices ``[lo, hi)`` of the borrower-key range ('' = open) so that a month of ``rows``
    rows is read about ``per_read`` rows at a time: keys are hex digests, spread evenly over
    their first two hex digits (at most 256 slices)."""
    n = min(256, max(1, -(-rows // max(per_read, 1))))
    bounds = [f"{i * 256 // n:02x}" for i in range(1, n)]
    return list(zip(["", *bounds], [*bounds, ""], strict=True))


def _month_starts(first: date, last: date) -> list[date]:
    out, d = [], first.replace(day=1)
    while d <= last:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(
    wh: Any,
    project_dir: Path,
    *,
    project_id: int,
    first_month: date,
    last_month: date,
    progress: Callable[[str], None] = lambda _: None,
    rows_per_read: int = ROWS_PER_READ,
) -> Extract:
    """Write ``project_dir/data`` (read-only) from the warehouse ``wh``; refuses to overwrite.
    A month is read in slices of the borrower-key range of about ``rows_per_read`` rows."""
    data_dir = project_dir / "data"
    if data_dir.exists():
        raise ExtractExists(
            f"lab project {project_id} already has an extract at {data_dir}; an extract is "
            "never rebuilt in place"
        )
    project_dir.mkdir(parents=True, exist_ok=True)
    tmp = project_dir / f".data.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(mode=0o755)
    try:
        salt = secrets.token_bytes(32)
        members = wh.query_arrow("lab_extract_members", first=first_month, last=last_month)
        labels = labels_for(members.column("member_code").to_pylist(), salt)
        rows_total = sample_total = 0
        writer: pq.ParquetWriter | None = None
        sampler: pq.ParquetWriter | None = None
        columns: list[str] = []
        empty_rows = None
        stored = {
            r["month"]: int(r["rows"])
            for r in wh.query("lab_extract_month_rows", first=first_month, last=last_month).dicts()
        }
        try:
            for month in _month_starts(first_month, last_month):
                month_rows = 0
                for lo, hi in key_ranges(stored.get(month, 0), rows_per_read):
                    if not stored.get(month) and empty_rows is not None:
                        break  # nothing stored; the columns are known already
                    rows = wh.query_arrow("lab_extract_accounts", first=month, last=month,
                                          lo=lo, hi=hi)  # fmt: skip
                    if rows.num_rows == 0:
                        empty_rows = rows
                        continue
                    table = deidentify(rows, salt, labels)
                    del rows
                    if writer is None:
                        columns = table.column_names
                        writer = pq.ParquetWriter(tmp / DATA_FILE, table.schema,
                                                  compression="zstd")  # fmt: skip
                        sampler = pq.ParquetWriter(tmp / SAMPLE_FILE, table.schema,
                                                   compression="zstd")  # fmt: skip
                    assert sampler is not None
                    writer.write_table(table, row_group_size=ROW_GROUP)
                    sample = table.filter(in_sample(table.column("borrower")))
                    sampler.write_table(sample, row_group_size=ROW_GROUP)
                    month_rows += table.num_rows
                    sample_total += sample.num_rows
                    del table, sample
                if month_rows:
                    progress(f"{month:%Y-%m}: re-keyed {month_rows:,} rows with the project salt")
                rows_total += month_rows
        finally:
            for w in (writer, sampler):
                if w is not None:
                    w.close()
        del salt
        if writer is None:  # no rows at all: empty files with the columns, so code still runs
            empty = deidentify(empty_rows, b"\0" * 32, {})
            columns = empty.column_names
            pq.write_table(empty, tmp / DATA_FILE, compression="zstd")
            pq.write_table(empty, tmp / SAMPLE_FILE, compression="zstd")
        files = {DATA_FILE: _sha256(tmp / DATA_FILE), SAMPLE_FILE: _sha256(tmp / SAMPLE_FILE)}
        manifest = {
            "project": project_id,
            "first_month": f"{first_month:%Y-%m}",
            "last_month": f"{last_month:%Y-%m}",
            "rows": rows_total,
            "sample_rows": sample_total,
            "sample": "every row of 1 % of the borrowers (sample.parquet)",
            "columns": columns,
            "files": files,
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        files[MANIFEST_FILE] = _sha256(tmp / MANIFEST_FILE)
        fingerprint = hashlib.sha256(
            "".join(f"{n}\0{h}\n" for n, h in sorted(files.items())).encode()
        ).hexdigest()
        for name in files:
            os.chmod(tmp / name, 0o440)
        os.chmod(tmp, 0o550)
        os.rename(tmp, data_dir)
    except BaseException:
        if tmp.exists():
            os.chmod(tmp, 0o755)
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    prepare_workspace(project_dir)
    return Extract(data_dir, rows_total, fingerprint, files)


def prepare_workspace(project_dir: Path) -> Path:
    """``project_dir/work`` (the analysts' writable directory) with the example script."""
    work = project_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    example = work / EXAMPLE.name
    if not example.exists():
        shutil.copyfile(EXAMPLE, example)
    return work
