"""A lab project's de-identified extract, built from the warehouse at approval.

What an extract holds (docs/lab.md has the column list): every account's month-end state in the
project's months, with

- ``borrower`` = HMAC-SHA256(salt, "borrower:" + warehouse key), first 32 hex characters;
  ``account`` = HMAC-SHA256(salt, "account:" + member + ":" + account id), the same length;
- ``institution`` a project-local label (``I001`` …, numbered in the order of the members' HMACs,
  so a label tells nothing about the member code) beside ``institution_type``, the type code;
- dates as months; ``birth_year`` coarsened to the first year of its five-year band;
- amounts, dpd and status codes as they are.

Invariants: the salt is 32 random bytes drawn for each build and never stored or logged, so
keys are unlinkable across projects, across rebuilds and to the warehouse (whose keys are
themselves HMACs of the pepper); no member code, account id, warehouse key, name or mobile
reaches a file. Files are written into a temporary directory beside the target and renamed into
place when complete; the directory and its files are then read-only (0555/0444). Beside it,
``work/`` gets a copy of the example (:mod:`sandbox.examples.logit_90dpd`). The extract's
fingerprint (SHA-256 over each file's name and SHA-256) is what the registry records.

The build runs where the warehouse is (``runtime.commands``' ``lab.approve``, through the admin
channel while ``jdx serve`` owns an embedded warehouse). It holds the project's rows in memory;
chunking by month for extracts of tens of millions of rows is a next step (docs/lab.md).
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
MANIFEST_FILE = "manifest.json"
KEY_HEX = 32
EXAMPLE = Path(__file__).resolve().parent / "examples" / "logit_90dpd.py"


@dataclass(frozen=True)
class Extract:
    path: Path  # the project's data directory
    rows: int
    sha256: str  # fingerprint over the files
    files: dict[str, str]  # file name -> SHA-256


def _keyed(salt: bytes, prefix: str, values: pa.Array) -> pa.Array:
    """HMAC every distinct value once and map the column through the results."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    keys = [
        hmac.new(salt, (prefix + str(v)).encode(), hashlib.sha256).hexdigest()[:KEY_HEX]
        for v in encoded.dictionary.to_pylist()
    ]
    return pc.take(pa.array(keys, pa.string()), encoded.indices)


def deidentify(table: pa.Table, salt: bytes) -> pa.Table:
    """The extract's table from ``lab_extract_accounts`` rows (see the module docstring)."""
    members = sorted(
        set(table.column("member_code").to_pylist()),
        key=lambda m: hmac.new(salt, b"member:" + m.encode(), hashlib.sha256).digest(),
    )
    labels = {m: f"I{i:03d}" for i, m in enumerate(members, 1)}
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
) -> Extract:
    """Write ``project_dir/data`` (read-only) from the warehouse ``wh``; refuses to overwrite."""
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
        progress(f"reading account months {first_month:%Y-%m}..{last_month:%Y-%m}")
        rows = wh.query_arrow("lab_extract_accounts", first=first_month, last=last_month)
        progress(f"re-keying {rows.num_rows:,} rows with a new project salt")
        salt = secrets.token_bytes(32)
        table = deidentify(rows, salt)
        del salt, rows
        pq.write_table(table, tmp / DATA_FILE, compression="zstd")
        files = {DATA_FILE: _sha256(tmp / DATA_FILE)}
        manifest = {
            "project": project_id,
            "first_month": f"{first_month:%Y-%m}",
            "last_month": f"{last_month:%Y-%m}",
            "rows": table.num_rows,
            "columns": table.column_names,
            "files": files,
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        files[MANIFEST_FILE] = _sha256(tmp / MANIFEST_FILE)
        fingerprint = hashlib.sha256(
            "".join(f"{n}\0{h}\n" for n, h in sorted(files.items())).encode()
        ).hexdigest()
        for name in files:
            os.chmod(tmp / name, 0o444)
        os.chmod(tmp, 0o555)
        os.rename(tmp, data_dir)
    except BaseException:
        if tmp.exists():
            os.chmod(tmp, 0o755)
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    prepare_workspace(project_dir)
    return Extract(data_dir, table.num_rows, fingerprint, files)


def prepare_workspace(project_dir: Path) -> Path:
    """``project_dir/work`` (the analysts' writable directory) with the example script."""
    work = project_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    example = work / EXAMPLE.name
    if not example.exists():
        shutil.copyfile(EXAMPLE, example)
    return work
