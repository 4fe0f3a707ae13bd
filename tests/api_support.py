"""API test support (no fixtures: those are in ``api_fixtures``): a real uvicorn server on 127.0.0.1 with a real chDB warehouse
and a real SQLite registry, seeded with the golden population of ``tests/cases/lookups/``.

The server runs on a thread of the test process, which owns the module's chDB directory (the
``wh`` fixture of ``warehouse_fixtures``): exactly the embedded arrangement of ``jdx serve``,
where the API lives inside the process that owns the warehouse. Tests may therefore insert rows
(submissions, DQ figures) straight into the warehouse the server reads.

Use: ``pytest_plugins = ["warehouse_fixtures", "api_fixtures"]`` and the ``api`` fixture;
import :class:`Api` and helpers from here.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from warehouse_data import loan_state, loan_states_table

from exchange.pseudonym import Pseudonymiser
from exchange.settings import Settings
from products.inquiry_log import InquiryRow, rows_table
from products.lookups.borrower import CST
from products.service import ProductService
from warehouse import Warehouse

CASES = Path(__file__).parent / "cases" / "lookups"
ALL_PRODUCTS = ["multi_loan", "time_series", "batch", "usage", "consents"]


def population() -> dict[str, Any]:
    return json.loads((CASES / "population.json").read_text())


@dataclass
class Api:
    """A running API with its settings, warehouse and tokens by name."""

    url: str
    settings: Settings
    wh: Warehouse
    service: ProductService
    pseud: Pseudonymiser
    tokens: dict[str, str] = field(default_factory=dict)
    pop: dict[str, Any] = field(default_factory=dict)

    def client(self, token: str | None = None, header: str = "bearer") -> httpx.Client:
        headers = {}
        if token is not None:
            headers = (
                {"Authorization": f"Bearer {token}"} if header == "bearer" else {"X-API-Key": token}
            )
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def borrower(self, ref: str, **extra: Any) -> dict[str, Any]:
        b = dict(self.pop["borrowers"][ref])
        return {**b, "consent_ref": f"CONSENT-{ref}", "purpose": "LOAN_APPROVAL", **extra}


def seed(wh: Warehouse, pseud: Pseudonymiser, pop: dict[str, Any]) -> None:
    types = {m["code"]: m["type"] for m in pop["members"]}
    records = []
    seq = 0
    for acc in pop["accounts"]:
        b = pop["borrowers"][acc["borrower"]]
        for as_of, status, bal, sched, paid, dpd, overdue, closed in acc["states"]:
            seq += 1
            records.append(
                loan_state(
                    member_code=acc["member"],
                    member_type=types[acc["member"]],
                    account_id=acc["account_id"],
                    as_of_date=dt.date.fromisoformat(as_of),
                    borrower_key=pseud.borrower_key(b["id_type"], b["id_number"]),
                    name_hash=pseud.name_hash(b["name"]),
                    product=acc["product"],
                    opened_date=dt.date.fromisoformat(acc["opened"]),
                    maturity_date=None,
                    credit_amount=Decimal(acc["credit_amount"]),
                    balance=Decimal(bal),
                    scheduled_amount=Decimal(sched),
                    paid_amount=Decimal(paid),
                    overdue_amount=Decimal(overdue),
                    overdue_principal=Decimal(0),
                    dpd=dpd,
                    status=status,
                    closed_date=dt.date.fromisoformat(closed) if closed else None,
                    load_id=f"GOLDEN-{seq}",
                    load_seq=seq,
                )
            )
    wh.insert_arrow("loan_states", loan_states_table(records))
    rows = []
    for i, q in enumerate(pop["inquiries"]):
        b = pop["borrowers"][q["borrower"]]
        at = dt.datetime.fromisoformat(q["at"]).replace(tzinfo=CST).astimezone(dt.UTC)
        rows.append(
            InquiryRow(
                borrower_key=pseud.borrower_key(b["id_type"], b["id_number"]),
                queried_at=at,
                inquiry_id=f"00000000-0000-4000-8000-{i:012d}",
                member_code=q["member"],
                member_type=types[q["member"]],
                product=q["product"],
                purpose=q["purpose"],
                consent_ref="GOLDEN",
                api_key_id="golden",
            )
        )
    wh.insert_arrow("inquiries", rows_table(rows))
    for m in pop["members"]:
        accepted(wh, m["code"])


def accepted(wh: Warehouse, member: str, days_ago: int = 3, status: str = "accepted") -> None:
    """A submissions row as the loader writes it (reciprocity reads these)."""
    when = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days_ago)
    wh.insert_rows(
        "submissions",
        [(f"L-{member}-{days_ago}", 1, member, f"{member}_x.loans.csv", "0" * 64, "loans/1",
          when.date(), when.date(), when, status, 1, 1, 0, 0, {}, 99.0, when)],
        ["load_id", "load_seq", "member_code", "file_name", "sha256", "spec", "as_of",
         "file_date", "received_at", "status", "records", "accepted", "rejected", "warnings",
         "error_counts", "dq_score", "updated_at"],
    )  # fmt: skip


def wait_done(c: httpx.Client, job_id: str) -> dict[str, Any]:
    """Poll a batch job until it is done or failed (at most 60 s); return its state."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = c.get(f"/v1/batch/{job_id}").json()["job"]
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"batch job {job_id} did not finish")
