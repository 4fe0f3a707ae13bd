"""Test support for the loader: a member area, a real registry and a real warehouse database.

:class:`Exchange` puts files into members' inboxes the way the SFTP server leaves them (data file
first, then the control file), runs the loader and reads back receipts, error files and warehouse
figures through test-only named queries (:data:`QUERIES`, served by ``warehouse_fixtures``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loanfiles import PEPPER, control_for, csv_bytes, make_ric, record

from exchange import registry as reg
from exchange.pseudonym import Pseudonymiser
from exchange.registry import db as registry_db
from ingest.loader import Loader, LoaderConfig, Outcome
from ingest.sealed import Keyring
from warehouse import Warehouse

#: Test-only named queries (a module sets EXTRA_QUERIES = QUERIES).
QUERIES = {
    "t_counts": """
        SELECT
            (SELECT count() FROM loan_states FINAL WHERE member_code = {member:String}) AS states,
            (SELECT count() FROM accounts_current FINAL WHERE member_code = {member:String})
                AS current,
            (SELECT count() FROM account_months FINAL WHERE member_code = {member:String})
                AS months,
            (SELECT count() FROM rejections FINAL WHERE member_code = {member:String})
                AS rejections,
            (SELECT count() FROM dq_daily FINAL WHERE member_code = {member:String}) AS dq,
            (SELECT count() FROM loan_states WHERE member_code = {member:String}) AS raw_states""",
    "t_states": """
        SELECT account_id, as_of_date, record_type, line, flags, load_id, load_seq, borrower_key
        FROM loan_states FINAL WHERE member_code = {member:String}
        ORDER BY account_id, as_of_date""",
    "t_current": """
        SELECT account_id, borrower_key, as_of_date, dpd
        FROM accounts_current FINAL WHERE member_code = {member:String} ORDER BY account_id""",
    "t_months": """
        SELECT account_id, month, borrower_key
        FROM account_months FINAL WHERE member_code = {member:String} ORDER BY account_id, month""",
    "t_submissions": """
        SELECT load_id, load_seq, file_name, status, records, accepted, rejected, error_counts
        FROM submissions FINAL WHERE member_code = {member:String} ORDER BY load_seq""",
    "t_rejections": """
        SELECT issue, line, field, code, severity
        FROM rejections FINAL WHERE member_code = {member:String} ORDER BY load_id, issue""",
    "t_dq": """
        SELECT day, dimension, field, passed, checked, load_id
        FROM dq_daily FINAL WHERE member_code = {member:String}
        ORDER BY day, dimension, field""",
}

#: The archive key of these tests (sealing members' data files in archive/).
ARCHIVE_KEY = bytes(range(32))

#: The loader's clock in these tests: the day after the usual test files' as_of (on time).
RECEIVED = dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC)


@dataclass
class Exchange:
    root: Path
    registry_url: str
    wh: Warehouse
    loader: Loader

    def add_member(self, code: str, type: str = "MICROLOAN") -> None:
        with registry_db.session(self.registry_url) as db:
            reg.add_member(db, code=code, name=f"{code} Ltd", type=type, actor="test")

    def inbox(self, member: str) -> Path:
        path = self.root / member / "inbox"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def upload(self, member: str, name: str, data: bytes | None, control: bytes | None) -> None:
        """Data file, then control file, as a member's SFTP client leaves them."""
        if data is not None:
            (self.inbox(member) / name).write_bytes(data)
        if control is not None:
            ctl = name.split(".", 1)[0] + ".ctl"
            (self.inbox(member) / ctl).write_bytes(control)

    def process(self) -> list[Outcome]:
        return self.loader.process_all()

    def receipt(self, member: str, base: str) -> dict[str, Any]:
        return dict(
            json.loads((self.root / member / "outbox" / f"{base}.receipt.json").read_text())
        )

    def errors(self, member: str, base: str) -> list[dict[str, str]]:
        text = (self.root / member / "outbox" / f"{base}.errors.csv").read_text(encoding="utf-8")
        return list(csv.DictReader(io.StringIO(text, newline="")))

    def counts(self, member: str) -> dict[str, int]:
        return {k: int(v) for k, v in self.wh.query("t_counts", member=member).one().items()}

    def rows(self, query: str, member: str) -> list[dict[str, Any]]:
        return self.wh.query(query, member=member).dicts()


def make_exchange(
    root: Path,
    registry_url: str,
    wh: Warehouse,
    *,
    control_grace: float = 600.0,
    clock: dt.datetime = RECEIVED,
    block_rows: int = 500_000,
) -> Exchange:
    config = LoaderConfig(
        members_root=root, control_grace=control_grace, insert_block_rows=block_rows
    )
    loader = Loader(
        config,
        registry_url=registry_url,
        warehouse=wh,
        pseudonymiser=Pseudonymiser(PEPPER),
        archive_keys=Keyring(ARCHIVE_KEY),
        clock=lambda: clock,
    )
    return Exchange(root, registry_url, wh, loader)


def big_file(
    n: int, *, member: str = "CRASH", day: str = "20250131", seed: int = 3, bad_every: int = 97
) -> tuple[str, bytes, bytes]:
    """A ``loans/1`` file of ``n`` records of distinct accounts and borrowers, every
    ``bad_every``-th record with a wrong RIC check digit; returns (name, data, control)."""
    rng = random.Random(seed)
    as_of = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    records = []
    for i in range(n):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(365 * 40))
        ric = make_ric(f"110105{born:%Y%m%d}{i % 1000:03d}")
        if i % bad_every == 0:
            ric = ric[:-1] + ("0" if ric[-1] != "0" else "1")
        records.append(
            record(
                account_id=f"{member}-{i:07d}",
                id_number=ric,
                mobile=f"139{i:08d}",
                as_of_date=as_of,
                balance=f"{rng.randrange(100, 700000) / 100:.2f}",
            )
        )
    name = f"{member}_{day}_001.loans.csv"
    data = csv_bytes(records)
    return name, data, control_for(name, data, n, as_of=as_of)
