"""A member's first week, end to end against ``jdx serve`` (a subprocess owning its warehouse):
files over the OpenSSH ``sftp`` client, answers fetched from the outbox over SFTP, lookups over
HTTP with the member's API key (issue 10).

Golden cases, figures worked out by hand:

* **Bao'an.** ``440306198506122340`` — Shenzhen Bao'an (440306, listed by GB/T 2260 from 1992),
  born 1985-06-12, valid check digit — is accepted (its region is the registration place when
  the number was issued) and found by a lookup and a batch job; ``119999…`` (a Beijing code
  GB/T 2260 never listed) is still rejected: V215 in the file, ``ID_REGION`` in the API and in
  the batch result.
* **DQ 77 in the first month.** NEWCO (joined today) sends 35 records, 23 failing validity (22
  bad check digits V213, the never-listed region V215), on time, nothing else wrong:
  100 × (0.35 · 12/35 + 0.25 + 0.20 + 0.10 + 0.10) = 100 × (0.12 + 0.65) = 77.0 — under the
  threshold 80, and answered: a new member's grace covers the DQ rule too. ``GET /v1/dq`` says
  77.0 and that a perfect validity would add 100 · 0.35 · 23/35 = 23.0 points.
* **Both receipts.** NEWCO sends the same file again: the original receipt (77.0, 23 errors) and
  errors file stay; the duplicate's answer is ``<base>.resend-001.*`` (35 records it saw, the
  original load named).
* **Corrections lift the score, next day.** OLDCO (joined 2020) sends, for yesterday, 10 records
  with 6 bad check digits: 100 × (0.35 · 4/10 + 0.65) = 79.0 → ``RECIPROCITY_DQ``, pointing to
  ``GET /v1/dq``. Today it sends the 6 accounts corrected (as_of yesterday): yesterday's validity
  becomes 4 + 6 corrected = 10/10, today's file 6/6 → 100.0, and the lookup is answered. Its
  outbox DQ file of today says so (``corrected_records`` 6).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loanfiles import csv_bytes, make_ric, record
from serve_support import Exchange, running_exchange

from exchange.domain import CST

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sftp") is None, reason="OpenSSH sftp client not installed"),
]

BAOAN = "440306198506122340"
NEVER_LISTED = make_ric("11999919850612234")  # Beijing province, a county code never listed
TODAY = dt.datetime.now(CST).date()
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    members = {"NEWCO": (TODAY, "MICROLOAN"), "OLDCO": (dt.date(2020, 1, 2), "CONSUMER_FINANCE")}
    with running_exchange(tmp_path_factory.mktemp("first_week"), members) as exchange:
        yield exchange


def _rec(account: str, id_number: str, day: dt.date) -> dict[str, str]:
    return record(account_id=account, id_number=id_number, as_of_date=day.isoformat())


def _bad_check_digit(i: int) -> str:
    good = make_ric(f"31010419850612{i:03d}")
    return good[:17] + ("0" if good[17] != "0" else "1")


def _newco_file(directory: Path) -> tuple[Path, int]:
    good = [_rec("B-1", BAOAN, YESTERDAY)] + [
        _rec(f"G-{i}", make_ric(f"11010519900307{i:03d}"), YESTERDAY) for i in range(11)
    ]
    bad = [_rec("R-1", NEVER_LISTED, YESTERDAY)] + [
        _rec(f"X-{i}", _bad_check_digit(i), YESTERDAY) for i in range(22)
    ]
    path = directory / f"NEWCO_{YESTERDAY:%Y%m%d}_001.loans.csv"
    path.write_bytes(csv_bytes(good + bad))
    return path, len(good) + len(bad)


def test_baoan_accepted_and_found_a_new_member_at_dq_77_answered_and_receipts_kept(
    exchange: Exchange, tmp_path: Path
) -> None:
    data, n = _newco_file(tmp_path)
    base = data.name.split(".")[0]
    exchange.upload("NEWCO", data, n, YESTERDAY)
    receipt = exchange.receipt("NEWCO", f"{base}.receipt.json", tmp_path / "r1.json")
    assert (receipt["status"], receipt["records"], receipt["accepted"]) == (
        "partially_accepted", 35, 12)  # fmt: skip
    assert receipt["error_counts"] == {"V213": 22, "V215": 1}
    assert receipt["dq_score"] == 77.0 and receipt["dq_below_threshold"] is True
    errors = exchange.fetch("NEWCO", f"{base}.errors.csv", tmp_path / "e1.csv").read_text()
    assert ",R-1,id_number,V215,error," in errors.replace('"', "") and "B-1" not in errors
    assert NEVER_LISTED not in errors and BAOAN not in errors  # masked

    with exchange.client("NEWCO") as c:
        found = c.post("/v1/multi-loan", json={
            "id_type": "RIC", "id_number": BAOAN, "consent_ref": "C-1",
            "purpose": "LOAN_APPROVAL"})  # fmt: skip
        assert found.status_code == 200, found.text  # DQ 77, answered: joined today
        assert found.json()["accounts"]["open_accounts"] == 1
        refused = c.post("/v1/multi-loan", json={
            "id_type": "RIC", "id_number": NEVER_LISTED, "consent_ref": "C-1",
            "purpose": "LOAN_APPROVAL"})  # fmt: skip
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "ID_REGION"
        dq = c.get("/v1/dq").json()
        assert dq["score"] == 77.0 and dq["below_threshold"] is True
        assert dq["lift"][0]["dimension"] == "validity" and dq["lift"][0]["points"] == 23.0
        job = c.post("/v1/batch", json={"purpose": "LOAN_APPROVAL", "borrowers": [
            {"id_type": "RIC", "id_number": BAOAN, "consent_ref": "C-1"},
            {"id_type": "RIC", "id_number": NEVER_LISTED, "consent_ref": "C-2"}]})  # fmt: skip
        assert job.status_code == 202, job.text
        poll = job.json()["poll"]
        deadline = time.monotonic() + 60
        while (state := c.get(poll).json())["job"]["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert state["job"]["status"] == "done", state
        result = c.get(f"{poll}/result?format=csv").text
    first, second = csv.DictReader(io.StringIO(result))
    assert (first["status"], first["open_accounts"]) == ("ok", "1")
    assert (second["status"], second["error_code"]) == ("error", "ID_REGION")

    # the same file again: the original answer stays, the duplicate gets its own
    exchange.upload("NEWCO", data, n, YESTERDAY)
    again = exchange.receipt("NEWCO", f"{base}.resend-001.receipt.json", tmp_path / "r2.json")
    assert again["status"] == "duplicate" and again["records"] == 35
    assert again["duplicate_of"] == receipt["load_id"] and receipt["load_id"] in again["message"]
    kept = exchange.receipt("NEWCO", f"{base}.receipt.json", tmp_path / "r1b.json")
    assert kept == receipt
    kept_errors = exchange.fetch("NEWCO", f"{base}.errors.csv", tmp_path / "e1b.csv").read_text()
    assert kept_errors == errors
    listing = exchange.sftp("NEWCO", "ls -1 outbox").stdout.split()
    names = [p.rsplit("/", 1)[-1] for p in listing if p.rsplit("/", 1)[-1].startswith(base)]
    assert names == sorted(names) and names[-1] == f"{base}.resend-001.receipt.json", names


def test_corrections_lift_an_old_members_score_the_next_day(
    exchange: Exchange, tmp_path: Path
) -> None:
    bad_ids = {f"C-{i}": _bad_check_digit(100 + i) for i in range(6)}
    first = [_rec(f"K-{i}", make_ric(f"32010219880101{i:03d}"), YESTERDAY) for i in range(4)]
    first += [_rec(acc, number, YESTERDAY) for acc, number in bad_ids.items()]
    day1 = tmp_path / f"OLDCO_{YESTERDAY:%Y%m%d}_001.loans.csv"
    day1.write_bytes(csv_bytes(first))
    exchange.upload("OLDCO", day1, 10, YESTERDAY)
    r1 = exchange.receipt("OLDCO", f"OLDCO_{YESTERDAY:%Y%m%d}_001.receipt.json", tmp_path / "1")
    assert (r1["accepted"], r1["dq_score"]) == (4, 79.0)
    lookup = {
        "id_type": "RIC",
        "id_number": BAOAN,
        "consent_ref": "C-9",
        "purpose": "CREDIT_REVIEW",
    }
    with exchange.client("OLDCO") as c:
        refused = c.post("/v1/multi-loan", json=lookup)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "RECIPROCITY_DQ"
        assert "79.00" in refused.json()["error"]["message"]
        assert "GET /v1/dq" in refused.json()["error"]["message"]

    # next day: the six accounts again, corrected, for yesterday's as_of
    fixed = [
        _rec(acc, make_ric(f"32010219880201{i:03d}"), YESTERDAY) for i, acc in enumerate(bad_ids)
    ]
    day2 = tmp_path / f"OLDCO_{TODAY:%Y%m%d}_001.loans.csv"
    day2.write_bytes(csv_bytes(fixed))
    exchange.upload("OLDCO", day2, 6, YESTERDAY)
    r2 = exchange.receipt("OLDCO", f"OLDCO_{TODAY:%Y%m%d}_001.receipt.json", tmp_path / "2")
    assert (r2["status"], r2["accepted"], r2["dq_score"]) == ("accepted", 6, 100.0)
    with exchange.client("OLDCO") as c:
        dq = c.get("/v1/dq").json()
        assert (dq["score"], dq["corrected_records"], dq["lift"]) == (100.0, 6, [])
        answered = c.post("/v1/multi-loan", json=lookup)
        assert answered.status_code == 200, answered.text
    daily = exchange.fetch("OLDCO", f"OLDCO_{TODAY:%Y%m%d}.dq.json", tmp_path / "dq.json")
    doc = json.loads(daily.read_text())
    assert (doc["score"], doc["corrected_records"]) == (100.0, 6)
