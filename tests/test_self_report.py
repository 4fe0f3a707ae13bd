"""Self-inquiry (issue 15, item 1): a person's own report, lenders and inquirers named, two free
per calendar year, then the price list's fee — accepted explicitly, or refused with nothing
recorded. Run as ``jdx serve`` runs it (the admin command over the golden population's warehouse);
the PDF is read back with ``pdftotext``."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from api_support import Api

from exchange import audit
from exchange.pseudonym import mask_id
from exchange.registry import db as registry_db
from exchange.registry.errors import SelfReportFeeRequired
from runtime.commands import execute

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]


def _report(api: Api, out: Path, key: str, masked: str, accept_fee: bool = False) -> dict:
    params = {"borrower_key": key, "masked_id": masked, "accept_fee": accept_fee,
              "out_dir": str(out)}  # fmt: skip
    return execute(api.settings, api.wh, "rights.self_report", params, "staff.wang", lambda t: None)


def test_a_persons_own_report_names_lenders_and_inquirers_two_free_a_year(
    api: Api, tmp_path: Path
) -> None:
    person = api.pop["borrowers"]["A"]
    key = api.pseud.borrower_key("RIC", person["id_number"])
    masked = mask_id("RIC", person["id_number"])
    first = _report(api, tmp_path, key, masked)["data"]
    assert (first["fee"], first["nth_this_year"]) == ("0.00", 1)
    doc = json.loads(Path(first["json"]).read_text())
    accounts = {(a["lender"], a["account_id"]) for a in doc["accounts"]}
    want = {(acc["member"], acc["account_id"]) for acc in api.pop["accounts"]
            if acc["borrower"] == "A"}  # fmt: skip
    names = {m["code"]: m["name"] for m in api.pop["members"]}
    assert accounts == {(names[m], a) for m, a in want}  # every account, lender named
    assert all(len(a["grid"]) == 24 for a in doc["accounts"])
    asked = {(q["inquirer"], q["purpose"]) for q in doc["inquiries"]}
    assert ("示例银行", "LOAN_APPROVAL") in asked and (names["CF001"], "LOAN_APPROVAL") in asked
    assert doc["person"]["id"] == masked and doc["earlier_self_reports"] == []

    text = Path(first["json"]).read_text() + _pdf_text(Path(first["pdf"]))
    assert person["id_number"] not in text and person["name"] not in text
    assert "示例银行" in _pdf_text(Path(first["pdf"]))  # CJK fonts embedded
    for path in (first["json"], first["pdf"]):
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600

    second = _report(api, tmp_path, key, masked)["data"]
    assert (second["fee"], second["nth_this_year"]) == ("0.00", 2)
    with registry_db.session(api.settings.registry_url, readonly=True) as db:
        before = audit.count(db)
    files = sorted(tmp_path.iterdir())
    with pytest.raises(SelfReportFeeRequired, match=r"costs CNY 10\.00.*--accept-fee"):
        _report(api, tmp_path, key, masked)
    assert sorted(tmp_path.iterdir()) == files  # nothing written
    with registry_db.session(api.settings.registry_url, readonly=True) as db:
        assert audit.count(db) == before + 1  # the refused command itself, no report
    third = _report(api, tmp_path, key, masked, accept_fee=True)["data"]
    assert (third["fee"], third["nth_this_year"]) == ("10.00", 3)
    assert len(json.loads(Path(third["json"]).read_text())["earlier_self_reports"]) == 2


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    assert path.read_bytes().startswith(b"%PDF")
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def test_the_staff_api_serves_self_reports_to_staff_only(api: Api) -> None:
    """``POST /v1/staff/self-report`` with a staff user's password (HTTP Basic): the report and
    its PDF; a reviewer, a wrong password and a member's key are refused; the third report of
    the year needs ``accept_fee`` (409 otherwise)."""
    from exchange.registry.users import add_user, set_password
    from reports.render.pdf import write_pdf

    with registry_db.session(api.settings.registry_url) as db:
        for name, role in (("ops.li", "operator"), ("rev.wu", "reviewer")):
            add_user(db, name, role, actor="test")
            set_password(db, name, "correct horse battery", actor="test")
    api.service.render_pdf = write_pdf
    person = api.pop["borrowers"]["B"]
    body = {"id_type": "RIC", "id_number": person["id_number"]}
    try:
        with api.client() as c:
            for auth, status, code in (
                (("ops.li", "wrong password!"), 401, "AUTH_INVALID"),
                (("rev.wu", "correct horse battery"), 403, "PRODUCT_FORBIDDEN"),
            ):
                refused = c.post("/v1/staff/self-report", json=body, auth=auth)
                assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
            assert c.post("/v1/staff/self-report", json=body).status_code == 401
        with api.client(api.tokens["BANK01"]) as c:
            member = c.post("/v1/staff/self-report", json=body)
            assert (member.status_code, member.json()["error"]["code"]) == (
                403,
                "PRODUCT_FORBIDDEN",
            )
        staff = ("ops.li", "correct horse battery")
        with api.client() as c:
            for n in (1, 2):
                got = c.post("/v1/staff/self-report", json=body, auth=staff)
                assert got.status_code == 200, got.text
                assert (got.json()["nth_this_year"], got.json()["fee"]) == (n, "0.00")
            report = got.json()
            assert report["report"]["person"]["id"] == mask_id("RIC", person["id_number"])
            assert person["id_number"] not in got.text
            pdf = c.get(report["pdf"], auth=staff)
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
            third = c.post("/v1/staff/self-report", json=body, auth=staff)
            assert (third.status_code, third.json()["error"]["code"]) == (
                409, "SELF_REPORT_FEE_REQUIRED")  # fmt: skip
            paid = c.post("/v1/staff/self-report", json={**body, "accept_fee": True}, auth=staff)
            assert (paid.status_code, paid.json()["fee"]) == (200, "10.00")
    finally:
        api.service.render_pdf = None
    with registry_db.session(api.settings.registry_url, readonly=True) as db:
        made = [e for e in audit.entries(db) if e.action == "rights.self_report"]
    assert {e.actor for e in made} >= {"staff:ops.li"}
