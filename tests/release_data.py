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


#: members of the recovery dataset (issue 12's first finding): eight microloan companies
LENDERS = tuple(f"MCR{i:02d}" for i in range(1, 9))
#: age band → (birth year, accounts per lender, lenders holding the band)
RECOVERY_AGES = {
    "lt25": (2002, 6, 8),
    "25-29": (1998, 6, 8),
    "30-39": (1990, 6, 8),
    "40-49": (1980, 6, 8),
    "50+": (1965, 5, 4),
    "unknown": (0, 2, 8),
}


def recovery_records(months: tuple[int, ...] = (6,), year: int = 2025) -> list[dict[str, Any]]:
    """An industry where age "50+" fails the rule and province "unknown" gives it away.

    ``tests/cases/recovery/expected.md`` works out its figures. Every borrower with a RIC has
    a province and a birth year; the others (passports) have neither, so the province "unknown"
    cell *is* the age "unknown" cell. Ages under 50 are spread over all eight lenders; "50+" is
    held by four (hidden by the rule); age "unknown" is the smallest other age cell, so the
    per-dimension margins hide it to protect "50+" — while province "unknown", the same
    population, passes the rule on its own. The attack: industry − published age bands −
    province unknown = the hidden "50+". ``months`` repeats the book for a series.
    """
    out: list[dict[str, Any]] = []
    for month in months:
        for i, member in enumerate(LENDERS):
            n = 0
            for index, (band, (born, count, lenders)) in enumerate(RECOVERY_AGES.items(), 1):
                if i >= lenders:
                    continue
                for j in range(count):
                    n += 1
                    dpd = 0
                    if band == "25-29" and j == 0:
                        dpd = 40
                    elif band == "50+" and i == 0 and j == 1:
                        dpd = 100
                    elif band == "unknown" and i < 2 and j == 0:
                        dpd = 14
                    account = f"{member}-{band}-{j}"
                    out.append(
                        loan_state(
                            member_code=member,
                            member_type="MICROLOAN",
                            account_id=account,
                            as_of_date=month_end(year, month),
                            borrower_key=key("r-" + account),
                            id_type="PASSPORT" if band == "unknown" else "RIC",
                            province="" if band == "unknown" else ("11", "31", "44")[n % 3],
                            birth_year=born,
                            product="CASH",
                            opened_date=dt.date(year - 1, 6, 1),
                            credit_amount=Decimal(10_000),
                            balance=Decimal(1_000 * index + 10 * i),
                            overdue_amount=Decimal("100.00") if dpd else Decimal("0.00"),
                            dpd=dpd,
                            status="OVERDUE" if dpd else "NORMAL",
                            load_id=f"REC-{month}",
                            load_seq=month,
                        )
                    )
    return out


#: members of the three-release dataset (issue 12's second finding)
ROLLERS = tuple(f"MRL{i:02d}" for i in range(1, 9))


def rollover_records(
    months: tuple[int, ...] = (9, 10, 11), year: int = 2025
) -> list[dict[str, Any]]:
    """Three month ends of one book where the 1–29 dpd bucket is concentrated.

    Eight lenders with 20 accounts each, evenly sized (the whole book passes the rule); MRL01
    holds 4 of the 11 accounts at 1–29 dpd (36 %), the others one each. So the bucket's own
    population — the 1–29 bucket in the release of its month, the 1–29 roll-rate row in the next
    release — fails the rule, while the open book it is a share of passes. One account per
    lender rolls 40 → 70 → 100 dpd; one closes in the last month.
    """
    out: list[dict[str, Any]] = []
    for t, month in enumerate(months):
        for i, member in enumerate(ROLLERS):
            for n in range(20):
                dpd, status = 0, "NORMAL"
                if n == 0 or (i == 0 and n in (1, 2, 3)):
                    dpd = 10
                elif n == 5:
                    dpd = (40, 70, 100)[t % 3]
                elif n == 7 and t == 2:
                    status = "CLOSED"
                if dpd:
                    status = "OVERDUE"
                account = f"{member}-{n:02d}"
                out.append(
                    loan_state(
                        member_code=member,
                        member_type="MICROLOAN",
                        account_id=account,
                        as_of_date=month_end(year, month),
                        borrower_key=key("o-" + account),
                        product=("CASH", "INSTALLMENT")[n % 2],
                        province=("11", "31", "44", "32")[n % 4],
                        birth_year=1960 + (n * 3 + i) % 40,
                        opened_date=dt.date(year - 1, 1, 1),
                        credit_amount=Decimal(20_000),
                        balance=Decimal(0 if status == "CLOSED" else 5_000 + 37 * n + 11 * i),
                        overdue_amount=Decimal("100.00") if dpd else Decimal("0.00"),
                        dpd=dpd,
                        status=status,
                        closed_date=month_end(year, month) if status == "CLOSED" else None,
                        load_id=f"ROLL-{month}",
                        load_seq=month,
                    )
                )
    return out
