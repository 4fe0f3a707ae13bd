"""Building loans/1 files for tests: a valid record, CSV bytes, a matching control file."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from stdnum.cn import ric

from exchange.domain import LOANS_V1_COLUMNS
from exchange.pseudonym import Pseudonymiser

PEPPER = bytes(range(32))
PSEUDONYMISER = Pseudonymiser(PEPPER)
MEMBER = "ACME"
FILE_NAME = "ACME_20250131_001.loans.csv"


def make_ric(body17: str) -> str:
    """A RIC with the right check digit for a 17-digit body."""
    return body17 + ric.calc_check_digit(body17 + "0")


RIC = make_ric("11010519900307123")  # Beijing Xicheng, born 1990-03-07
RIC_2 = make_ric("31010419850612456")  # Shanghai Xuhui, born 1985-06-12


def record(**overrides: str) -> dict[str, str]:
    """A valid A record of an instalment loan as of the file date; overrides win."""
    base = {
        "record_type": "A",
        "account_id": "L-0001",
        "id_type": "RIC",
        "id_number": RIC,
        "name": "张三",
        "mobile": "13800138000",
        "product": "INSTALLMENT",
        "guarantee": "NONE",
        "opened_date": "2024-06-15",
        "maturity_date": "2025-06-15",
        "currency": "CNY",
        "credit_amount": "12000.00",
        "installments": "12",
        "frequency": "M",
        "as_of_date": "2025-01-31",
        "balance": "7000.00",
        "scheduled_amount": "1050.00",
        "paid_amount": "1050.00",
        "overdue_amount": "0.00",
        "overdue_principal": "0.00",
        "dpd": "0",
        "overdue_installments": "0",
        "status": "NORMAL",
        "closed_date": "",
        "five_class": "1",
        "consent_ref": "C-2024-0001",
        "negative_notice_date": "",
        "province": "",
    }
    base.update(overrides)
    return base


def csv_bytes(
    records: Iterable[Mapping[str, str]],
    columns: Sequence[str] = LOANS_V1_COLUMNS,
    *,
    crlf: bool = False,
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([rec.get(c, "") for c in columns])
    return out.getvalue().encode("utf-8")


def control_for(name: str, data: bytes, records: int, **overrides: object) -> bytes:
    doc: dict[str, object] = {
        "spec": "loans/1",
        "file": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "records": records,
        "as_of": "2025-01-31",
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def gzip_bomb(path: Path, zeros_mib: int) -> None:
    """A header, then ``zeros_mib`` MiB of zero bytes, gzip-compressed (≈ 1000:1): one endless
    line once expanded."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    with path.open("wb") as f:
        f.write(squeeze.compress(b"record_type,account_id\n"))
        for _ in range(zeros_mib):
            f.write(squeeze.compress(block))
        f.write(squeeze.flush())
