"""Test data for the release tests: the golden dataset and small synthetic books.

* :func:`golden_records` — ``tests/cases/release/loans.csv`` as ``loan_states`` records (the
  hand-worked dataset; see ``expected.md`` there).
* :func:`disclosure_records` — a small industry whose cells are designed for the disclosure and
  revision tests (who contributes what to which cell is known exactly).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from warehouse_data import key, loan_state

CASES = Path(__file__).resolve().parent / "cases" / "release"


def golden_records() -> list[dict[str, Any]]:
    """Every row of the golden CSV as a ``loan_states`` record (``warehouse_data.loan_state``)."""
    out = []
    with (CASES / "loans.csv").open(newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            out.append(
                loan_state(
                    member_code=row["member_code"],
                    member_type=row["member_type"],
                    account_id=row["account_id"],
                    as_of_date=dt.date.fromisoformat(row["as_of_date"]),
                    record_type=row["record_type"],
                    borrower_key=key("borrower-" + row["borrower"]),
                    name_hash=key("name-" + row["borrower"]),
                    province=row["province"],
                    birth_year=int(row["birth_year"]),
                    product=row["product"],
                    opened_date=dt.date.fromisoformat(row["opened_date"]),
                    credit_amount=Decimal(row["credit_amount"]),
                    balance=Decimal(row["balance"]),
                    overdue_amount=Decimal("100.00") if int(row["dpd"]) else Decimal("0.00"),
                    dpd=int(row["dpd"]),
                    status=row["status"],
                    closed_date=dt.date.fromisoformat(row["closed_date"])
                    if row["closed_date"]
                    else None,
                    load_id=f"GOLDEN-{row['load_seq']}",
                    load_seq=int(row["load_seq"]),
                    line=i,
                )
            )
    return out


def golden_expected() -> dict[str, Any]:
    return json.loads((CASES / "expected.json").read_text())


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


#: members of the disclosure/revision dataset: four banks (too few for their type's cell), six
#: microloan companies
BANKS = ("BNK01", "BNK02", "BNK03", "BNK04")
MICRO = ("MCL01", "MCL02", "MCL03", "MCL04", "MCL05", "MCL06")


def disclosure_records(
    months: tuple[int, ...] = (1, 2, 3), year: int = 2025
) -> list[dict[str, Any]]:
    """A small industry whose cells are designed for the disclosure and revision tests.

    * member_type BANK has 4 institutions → suppressed by the rule; MICROLOAN (6) would reveal it
      through the industry total → suppressed too;
    * product AUTO: 6 institutions but MCL01 holds 6 of its 20 accounts (30 %) → suppressed; product
      BNPL is then the only other small product and protects it;
    * CASH and INSTALLMENT are large and evenly spread → published.
    Balances are odd amounts so that hidden figures do not coincide with published ones.
    """
    out: list[dict[str, Any]] = []
    for month in months:
        for i, member in enumerate(BANKS + MICRO):
            kind = "BANK" if member in BANKS else "MICROLOAN"
            plan: list[tuple[str, int, int]] = []
            for n in range(12):
                dpd = (0, 0, 0, 0, 0, 12, 0, 45, 0, 0, 95, 0)[(n + i + month) % 12]
                plan.append(("CASH", dpd, 3_000 + 137 * n + 71 * i + 13 * month))
            for n in range(10):
                dpd = (0, 0, 33, 0, 0, 0, 0, 0, 120, 0)[(n + 2 * i) % 10]
                plan.append(("INSTALLMENT", dpd, 8_000 + 311 * n + 97 * i))
            autos = {"MCL01": 6, "MCL02": 3, "MCL03": 3, "MCL04": 3, "MCL05": 3, "MCL06": 2}.get(
                member, 0
            )
            for n in range(autos):
                plan.append(("AUTO", 60 if n == 1 else 0, 50_000 + 1_117 * n + 331 * i))
            if member in MICRO:
                plan.append(("BNPL", 0 if i % 2 else 35, 777 + 19 * i))
            for n, (product, dpd, balance) in enumerate(plan):
                account = f"{member}-{product[:2]}{n:02d}"
                out.append(
                    loan_state(
                        member_code=member,
                        member_type=kind,
                        account_id=account,
                        as_of_date=month_end(year, month),
                        borrower_key=key("d-" + account),
                        product=product,
                        province=("11", "31", "44")[n % 3],
                        birth_year=1970 + (n * 7 + i) % 35,
                        opened_date=dt.date(year - 1, 6, 1),
                        credit_amount=Decimal(balance + 1000),
                        balance=Decimal(balance),
                        overdue_amount=Decimal("100.00") if dpd else Decimal("0.00"),
                        dpd=dpd,
                        status="OVERDUE" if dpd else "NORMAL",
                        load_id=f"DISC-{month}",
                        load_seq=month,
                    )
                )
    return out
