"""A person's dispute, end to end against ``jdx serve`` (issue 15): staff open a case with
``jdx disputes open`` (the ID number typed by staff never leaves the CLI); the next lookup flags
the account; the member finds the notice in its outbox, answers ``corrected`` with an SFTP
response file and sends the corrected record in a regular loans file; once it loads the flag
clears, and the audit chain holds every step in order. Bad input on the way: another member's
case and an unknown case are "not found" (API and file), a second answer to a closed case is
refused — and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loanfiles import csv_bytes, make_ric, record
from serve_support import Exchange, jdx, running_exchange

from exchange import audit
from exchange.domain import CST
from exchange.registry import db as registry_db

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sftp") is None, reason="OpenSSH sftp client not installed"),
]

TODAY = dt.datetime.now(CST).date()
YESTERDAY = TODAY - dt.timedelta(days=1)
PERSON = make_ric("31010419800101123")
OTHER = make_ric("31010419810202456")
LOOKUP = {"id_type": "RIC", "id_number": PERSON, "consent_ref": "C-9", "purpose": "LOAN_APPROVAL"}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    # joined today: reciprocity's grace for new members keeps the lookups free of DQ rules
    members = {"LENDA": (TODAY, "CONSUMER_FINANCE"), "LENDB": (TODAY, "MICROLOAN")}
    products = ("multi_loan", "time_series", "disputes")
    with running_exchange(
        tmp_path_factory.mktemp("disputes"), members, products=products
    ) as exchange:
        yield exchange


def _overdue(account: str, id_number: str, day: dt.date) -> dict[str, str]:
    return record(account_id=account, id_number=id_number, as_of_date=day.isoformat(),
                  status="OVERDUE", dpd="45", overdue_amount="300.00",
                  overdue_principal="280.00", overdue_installments="2")  # fmt: skip


def _answer_file(directory: Path, member: str, seq: int, rows: list[list[str]]) -> list[Path]:
    data = directory / f"{member}_{TODAY:%Y%m%d}_{seq:03d}.disputes.csv"
    text = "case_no,outcome,evidence\n" + "".join(",".join(r) + "\n" for r in rows)
    data.write_text(text, encoding="utf-8")
    ctl = data.with_name(data.name.split(".")[0] + ".ctl")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    ctl.write_text(json.dumps({"file": data.name, "sha256": digest}))
    return [data, ctl]


def _flag(exchange: Exchange, member: str) -> tuple[bool, int, list[bool]]:
    with exchange.client(member) as c:
        multi = c.post("/v1/multi-loan", json=LOOKUP)
        assert multi.status_code == 200, multi.text
        grid = c.post("/v1/time-series", json=LOOKUP)
        assert grid.status_code == 200, grid.text
    accounts = multi.json()["accounts"]
    return (accounts["disputed"], accounts["disputed_records"],
            [a["under_dispute"] for a in grid.json()["accounts"]])  # fmt: skip


def test_a_dispute_flags_at_once_is_answered_by_file_and_clears_when_the_correction_loads(
    exchange: Exchange, tmp_path: Path
) -> None:
    first = tmp_path / f"LENDA_{YESTERDAY:%Y%m%d}_001.loans.csv"
    first.write_bytes(
        csv_bytes([_overdue("D-1", PERSON, YESTERDAY), _overdue("D-2", OTHER, YESTERDAY)])
    )
    exchange.upload("LENDA", first, 2, YESTERDAY)
    other = tmp_path / f"LENDB_{YESTERDAY:%Y%m%d}_001.loans.csv"
    other.write_bytes(csv_bytes([record(account_id="E-1", id_number=PERSON,
                                        as_of_date=YESTERDAY.isoformat())]))  # fmt: skip
    exchange.upload("LENDB", other, 1, YESTERDAY)
    for member, name in (("LENDA", first), ("LENDB", other)):
        got = exchange.receipt(
            member, f"{name.name.split('.')[0]}.receipt.json", tmp_path / "r.json"
        )
        assert got["status"] == "accepted", got
    assert _flag(exchange, "LENDB") == (False, 0, [False, False])

    # staff open the case; the ID number is typed into the CLI only
    opened = jdx(exchange.home, "disputes", "open", "--member", "LENDA", "--account", "D-1",
                 "--id-number", PERSON, "--statement", "I repaid this loan in full in March",
                 "--json", "--actor", "staff.li")  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    case: dict[str, Any] = json.loads(opened.stdout)
    case_no = case["case_no"]
    assert case["status"] == "open" and case["days_left"] == 20
    assert PERSON not in opened.stdout + opened.stderr
    # the next lookup flags the account, for the member itself and for others
    assert _flag(exchange, "LENDB")[:2] == (True, 1)
    assert sorted(_flag(exchange, "LENDA")[2]) == [False, True]  # D-1 of LENDA, E-1 of LENDB
    notice = exchange.receipt("LENDA", f"{case_no}.dispute.json", tmp_path / "n.json")
    assert notice["case"]["account_id"] == "D-1" and notice["case"]["under_dispute"] is True

    with exchange.client("LENDA") as a, exchange.client("LENDB") as b:
        mine = a.get("/v1/disputes").json()["cases"]
        assert [c["case_no"] for c in mine] == [case_no] and "borrower_key" not in mine[0]
        assert b.get("/v1/disputes").json()["cases"] == []
        for answer in (b.get(f"/v1/disputes/{case_no}"),
                       b.post(f"/v1/disputes/{case_no}/answer",
                              json={"outcome": "verified", "evidence": "ours"}),
                       a.post("/v1/disputes/DSP-00000000/answer",
                              json={"outcome": "verified", "evidence": "x"})):  # fmt: skip
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "DISPUTE_NOT_FOUND"
        bad = a.post(f"/v1/disputes/{case_no}/answer", json={"outcome": "maybe", "evidence": "x"})
        assert bad.status_code == 422
        assert a.get(f"/v1/disputes/{case_no}").json()["status"] == "open"  # nothing changed

    # LENDB's file answering LENDA's case is refused; LENDA answers corrected by file
    exchange.put("LENDB", *_answer_file(tmp_path, "LENDB", 2, [[case_no, "verified", "n/a"]]))
    refused = exchange.receipt(
        "LENDB", f"LENDB_{TODAY:%Y%m%d}_002.receipt.json", tmp_path / "b.json"
    )
    assert refused["status"] == "rejected"
    assert refused["answers"][0]["code"] == "DISPUTE_NOT_FOUND"
    exchange.put("LENDA", *_answer_file(tmp_path, "LENDA", 2, [
        [case_no, "corrected", "Repayment of 2026-03-14 was booked late; corrected record follows"],
    ]))  # fmt: skip
    answered = exchange.receipt(
        "LENDA", f"LENDA_{TODAY:%Y%m%d}_002.receipt.json", tmp_path / "a.json"
    )
    assert answered["status"] == "accepted", answered
    assert answered["answers"][0] | {"line": 2} == {
        "line": 2, "case_no": case_no, "result": "answered", "outcome": "corrected"}  # fmt: skip
    assert _flag(exchange, "LENDB")[:2] == (True, 1)  # flagged until the corrected record loads

    fixed = tmp_path / f"LENDA_{TODAY:%Y%m%d}_003.loans.csv"
    fixed.write_bytes(csv_bytes([record(account_id="D-1", id_number=PERSON,
                                        as_of_date=TODAY.isoformat())]))  # fmt: skip
    exchange.upload("LENDA", fixed, 1, TODAY)
    loaded = exchange.receipt(
        "LENDA", f"LENDA_{TODAY:%Y%m%d}_003.receipt.json", tmp_path / "f.json"
    )
    assert loaded["status"] == "accepted", loaded
    deadline = time.monotonic() + 30
    while _flag(exchange, "LENDB")[:2] != (False, 0):
        assert time.monotonic() < deadline, "the flag did not clear after the corrected load"
        time.sleep(0.3)

    # a second answer to the closed case changes nothing
    exchange.put("LENDA", *_answer_file(tmp_path, "LENDA", 4, [[case_no, "deleted", "oops"]]))
    late = exchange.receipt("LENDA", f"LENDA_{TODAY:%Y%m%d}_004.receipt.json", tmp_path / "l.json")
    assert late["answers"][0]["code"] == "DISPUTE_NOT_OPEN"
    with exchange.client("LENDA") as a:
        closed = a.get(f"/v1/disputes/{case_no}").json()
    assert (closed["status"], closed["outcome"]) == ("closed", "corrected")

    # every step in the audit chain, in order, and the chain verifies
    url = f"sqlite:///{exchange.home / 'registry.sqlite3'}"
    with registry_db.session(url, readonly=True) as db:
        steps = [(e.action, e.actor) for e in audit.entries(db, obj=f"dispute:{case_no}")]
        [command] = audit.entries(db, obj="command:dispute.open")
    # the person's words are audited as their hash only (they may name the person)
    assert command.details["params"]["statement"].startswith("sha256:")
    assert "repaid" not in str(command.details)
    assert steps == [("dispute.open", "staff.li"), ("dispute.answer", "sftp:LENDA"),
                     ("dispute.close", "loader")], steps  # fmt: skip
    verified = jdx(exchange.home, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
