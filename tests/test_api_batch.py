"""Batch jobs (JSON and CSV, poll, CSV/Parquet results), their inquiry log, usage and statements
(CSV and a PDF that renders) over HTTP."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from api_support import Api, wait_done

import products.batch as batch
from exchange.domain import InstitutionType, Purpose
from ingest.settings import IngestSettings
from products import inquiry_summary
from products.auth import Caller
from products.lookups.borrower import today_cst

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]

EXTRA_QUERIES = {
    "t_job_inquiries": "SELECT uniqExact(inquiry_id) AS ids, count() AS n FROM inquiries "
    "WHERE batch_id = {job:String}",
}


def rows_of(api: Api, *refs: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in api.borrower(r).items() if k != "purpose"} for r in refs]


def units(c: httpx.Client) -> dict[str, int]:
    """Units per product of this month's usage (summed: the China-time day may turn meanwhile)."""
    out: dict[str, int] = {}
    for d in c.get("/v1/usage").json()["days"]:
        out[d["product"]] = out.get(d["product"], 0) + d["units"]
    return out


def test_json_batch_job(api: Api) -> None:
    bad = {"id_type": "RIC", "id_number": "110101199003070012", "consent_ref": "x"}
    body = {"purpose": "LOAN_APPROVAL", "as_of": "2026-10-31",
            "borrowers": [*rows_of(api, "A", "B", "C"), bad]}  # fmt: skip
    with api.client(api.tokens["BANK01"]) as c:
        r = c.post("/v1/batch", json=body)
        assert r.status_code == 202, r.text
        job = wait_done(c, r.json()["job"]["id"])
        assert job["status"] == "done", job
        assert (job["borrowers"], job["invalid"], job["looked_up"]) == (4, 1, 3)
        table = pq.read_table(
            io.BytesIO(c.get(f"/v1/batch/{job['id']}/result?format=parquet").content)
        )
        csv_text = c.get(f"/v1/batch/{job['id']}/result?format=csv").text
    rows = table.to_pylist()
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    a, b, cc, d = rows
    # borrower A: the same figures as the golden multi-loan answer
    assert (a["status"], a["open_accounts"], a["open_institutions"]) == ("ok", 3, 3)
    assert (str(a["total_credit_amount"]), str(a["open_balance"])) == ("37000.00", "16500.00")
    assert (a["overdue_accounts"], str(a["overdue_amount"]), a["max_current_dpd"]) == (
        1,
        "1200.00",
        41,
    )
    assert (a["written_off"], a["settled"], a["opened_3m"]) == (1, 1, 1)
    assert (a["inquiries_7d"], a["inquiry_institutions_7d"], a["inquiries_12m"]) == (5, 4, 7)
    assert a["alerts"] == "INQUIRY_INSTITUTIONS_7D;CURRENT_DPD"
    assert (b["status"], b["open_accounts"], b["inquiries_12m"]) == ("ok", 0, 0)
    assert (cc["status"], cc["open_accounts"], str(cc["open_balance"])) == ("ok", 1, "60000.00")
    assert (d["status"], d["error_code"], d["error_field"]) == ("error", "ID_CHECKSUM", "id_number")
    assert "borrower_key" not in table.column_names and "110101" not in csv_text
    assert pacsv.read_csv(io.BytesIO(csv_text.encode())).num_rows == 4


def test_csv_batch_counts_as_inquiries_and_usage(api: Api) -> None:
    with api.client(api.tokens["ML001"]) as c:
        before = c.post("/v1/multi-loan", json=api.borrower("B")).json()
        api.service.inquiries.flush()  # the inquiry log flushes on a timer too: settle it first
        usage_before = units(c)
        b = api.pop["borrowers"]["B"]
        csv_body = f"id_type,id_number,consent_ref\n{b['id_type']},{b['id_number']},K1\n" * 3
        r = c.post("/v1/batch?purpose=CREDIT_REVIEW", content=csv_body.encode(),
                   headers={"Content-Type": "text/csv"})  # fmt: skip
        assert r.status_code == 202, r.text
        job = wait_done(c, r.json()["job"]["id"])
        assert job["looked_up"] == 3
        after = c.post("/v1/multi-loan", json=api.borrower("B")).json()
        api.service.inquiries.flush()
        usage = units(c)
    w0, w1 = before["inquiries"]["windows"]["7d"], after["inquiries"]["windows"]["7d"]
    assert w1["count"] == w0["count"] + 1 + 3  # the lookup before, and the three batch rows
    assert w1["by_purpose"]["CREDIT_REVIEW"] == w0["by_purpose"]["CREDIT_REVIEW"] + 3
    assert usage["BATCH"] == usage_before.get("BATCH", 0) + 3
    assert usage["MULTI_LOAN"] == usage_before.get("MULTI_LOAN", 0) + 1  # the lookup after


def test_a_borrower_twice_in_a_job_gets_the_same_figures_twice(api: Api) -> None:
    """Each line is answered on its own: the same borrower on two lines, each with the golden
    account figures (not counted twice)."""
    body = {
        "purpose": "LOAN_APPROVAL",
        "as_of": "2026-10-31",
        "borrowers": rows_of(api, "A", "C", "A"),
    }
    with api.client(api.tokens["BANK01"]) as c:
        job = wait_done(c, c.post("/v1/batch", json=body).json()["job"]["id"])
        rows = pq.read_table(
            io.BytesIO(c.get(f"/v1/batch/{job['id']}/result?format=parquet").content)
        ).to_pylist()
    first, _, again = rows
    for a in (first, again):
        assert (a["open_accounts"], a["open_institutions"], str(a["open_balance"])) == (
            3,
            3,
            "16500.00",
        )
        assert (a["written_off"], a["settled"], a["opened_3m"]) == (1, 1, 1)
    assert {k: v for k, v in first.items() if k != "line"} == {
        k: v for k, v in again.items() if k != "line"
    }


def test_post_loan_batch_rows_are_refused_per_row(api: Api) -> None:
    body = {"purpose": "POST_LOAN", "borrowers": rows_of(api, "C", "B")}
    with api.client(api.tokens["BANK01"]) as c:
        job = wait_done(c, c.post("/v1/batch", json=body).json()["job"]["id"])
        rows = pq.read_table(
            io.BytesIO(c.get(f"/v1/batch/{job['id']}/result?format=parquet").content)
        ).to_pylist()
    assert [(r["status"], r["error_code"]) for r in rows] == [
        ("ok", ""),
        ("error", "POST_LOAN_NOT_ALLOWED"),
    ]
    assert (job["looked_up"], job["refused"]) == (1, 1)


def test_statement_csv_and_pdf(api: Api, tmp_path: Path) -> None:
    from products.lookups.borrower import today_cst

    month = today_cst().strftime("%Y-%m")
    with api.client(api.tokens["GI001"]) as c:
        for _ in range(2):
            assert c.post("/v1/multi-loan", json=api.borrower("B")).status_code == 200
        assert c.post("/v1/time-series", json=api.borrower("B")).status_code == 200
        api.service.inquiries.flush()
        statement = c.get(f"/v1/statements/{month}").json()
        csv_text = c.get(f"/v1/statements/{month}?format=csv").text
        pdf = c.get(f"/v1/statements/{month}?format=pdf")
    lines = {x["product"]: x for x in statement["lines"]}
    assert lines["MULTI_LOAN"]["units"] == 2 and lines["MULTI_LOAN"]["amount"] == "4.00"
    assert lines["TIME_SERIES"]["amount"] == "3.00" and statement["total"] == "7.00"
    assert statement["member"] == "Delta Guarantee"
    assert csv_text.splitlines()[-1].startswith("GI001,") and ",7.00,CNY" in csv_text
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed: the PDF was not rendered")
    (tmp_path / "s.pdf").write_bytes(pdf.content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", str(tmp_path / "s.pdf"), str(tmp_path / "p")], check=True
    )
    pages = list(tmp_path.glob("p*.png"))
    assert pages and all(p.stat().st_size > 1000 for p in pages)


def test_price_list_file(tmp_path: Path) -> None:
    from products import billing

    assert billing.load_prices(tmp_path / "absent.toml").source == "built-in"
    path = tmp_path / "prices.toml"
    path.write_text('currency = "CNY"\n[prices]\nMULTI_LOAN = "1.25"\nSELF = "9.00"\n')
    prices = billing.load_prices(path)
    assert prices.price("MULTI_LOAN") == billing.Decimal("1.25")
    assert prices.price("SELF") == 0  # self-inquiries stay free whatever the file says
    path.write_text('[prices]\nGOLD = "1"\n')
    with pytest.raises(billing.ConfigError, match="unknown product 'GOLD'"):
        billing.load_prices(path)


def test_sftp_batch_file_seen_again_is_not_run_twice(api: Api) -> None:
    """A batch file put in the inbox (here on disk; over the real SFTP server in
    test_api_serve.py) is one job; the same file found again — as after a crash between taking
    the job and removing the files — is not run, logged or billed again."""
    import hashlib
    import json

    from ingest.areas import ensure_area

    root = api.settings.section(IngestSettings).members_root
    assert root is not None
    area = ensure_area(root, "ML001")
    b = api.pop["borrowers"]["C"]
    data = f"id_type,id_number,consent_ref\r\n{b['id_type']},{b['id_number']},S1\r\n".encode()
    control = json.dumps({"file": "ML001_20261101_201.batch.csv", "purpose": "CREDIT_REVIEW",
                          "sha256": hashlib.sha256(data).hexdigest(), "records": 1}).encode()  # fmt: skip
    receipt_path = area.outbox / "ML001_20261101_201.receipt.json"
    with api.client(api.tokens["ML001"]) as c:
        before = units(c)
        for attempt in range(2):
            (area.inbox / "ML001_20261101_201.batch.csv").write_bytes(data)
            (area.inbox / "ML001_20261101_201.ctl").write_bytes(control)
            api.service.sftp_batches.scan()
            assert not (area.inbox / "ML001_20261101_201.ctl").exists()
            deadline = time.monotonic() + 60
            while not receipt_path.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            receipt = json.loads(receipt_path.read_text())
            assert receipt["status"] == "done" and receipt["looked_up"] == 1, receipt
            if attempt == 0:
                first = receipt
        assert receipt == first  # the same job, answered once
        jobs = api.service.batches.jobs("sftp")
        assert [j.id for j in jobs if (j.origin or {}).get("base") == "ML001_20261101_201"] == [
            first["job_id"]
        ]
        job = wait_done(c, receipt["job_id"])
        assert job["source"] == "sftp" and job["purpose"] == "CREDIT_REVIEW"
        result = (area.outbox / "ML001_20261101_201.result.csv").read_text()
        assert b["id_number"] not in result and '"ok"' in result
        assert units(c)["BATCH"] == before.get("BATCH", 0) + 1


class _Killed(BaseException):
    """The worker's death (not an ``Exception``: the job is not marked failed)."""


@pytest.mark.parametrize(
    "counted_from",
    ["inquiries", "summary", "summary built meanwhile", "its summary dropped meanwhile"],
)
def test_a_job_run_again_after_a_crash_does_not_count_its_own_inquiries(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted_from: str
) -> None:
    """A job that died after logging its inquiries and before writing its result is run again at
    the next start, and answers the figures its first run computed: its own inquiries — logged by
    the first run, with ids and times the second run logs again — are not applications before it.

    The death is simulated in this process (the worker stops with an exception that is not an
    ``Exception`` right where the result would be written): a SIGKILL of ``jdx serve`` cannot be
    timed between those two steps from outside. The warehouse, the inquiry log and the worker's
    restart are the real ones. Counted from ``inquiries`` alone, then with last night's inquiry
    summary built (the job's rows are after its generation), then with a generation built
    between the two runs that holds the rows the first run logged (a crash across the night's
    build): the run again counts where its first run did; and with two built between the runs,
    which drop the first run's generation: from ``inquiries`` alone."""
    caller = Caller(key_id="crash-test", member_code="ML001", member_name="ML001",
                    member_type=InstitutionType.MICROLOAN, joined=dt.date(2020, 1, 1),
                    products=frozenset())  # fmt: skip
    later = [dt.datetime.now(dt.UTC) + dt.timedelta(days=d) for d in (2, 3, 4)]
    if counted_from == "summary":
        assert inquiry_summary.build(api.wh).holds(today_cst())
    elif counted_from == "its summary dropped meanwhile":  # the first run reads a generation
        assert inquiry_summary.build(api.wh, later[0]).holds(today_cst())
    elif counted_from == "inquiries":
        assert inquiry_summary.current(api.wh) is None
    table = batch.parse_rows(rows_of(api, "A", "C"), api.pseud)
    service = api.service
    jobs = batch.BatchJobs(api.wh, service.inquiries, service.cfg, tmp_path / "batch")
    (tmp_path / "batch").mkdir(mode=0o700)  # as start() does, without its worker: run_job below
    job = jobs.submit(caller, Purpose.LOAN_APPROVAL, today_cst(), table)
    computed: list[pa.Table] = []
    finish, write = batch.BatchJobs._finish, batch.pq.write_table

    def finish_once(self: batch.BatchJobs, job: batch.Job, t: pa.Table) -> pa.Table:
        computed.append(out := finish(self, job, t))
        return out

    def die_at_result(data: pa.Table, where: Any, *a: Any, **k: Any) -> None:
        if Path(where).name == "result.parquet":
            raise _Killed
        write(data, where, *a, **k)

    monkeypatch.setattr(batch.BatchJobs, "_finish", finish_once)
    monkeypatch.setattr(batch.pq, "write_table", die_at_result)
    with pytest.raises(_Killed):
        jobs.run_job(job)
    monkeypatch.setattr(batch.pq, "write_table", write)
    assert api.wh.query("t_job_inquiries", job=job.id).one()["ids"] == 2  # the first run's log
    if counted_from == "summary built meanwhile":  # through the end of today: the job's rows in
        made = inquiry_summary.build(api.wh, later[0])
        assert made.seconds > 0 and made.holds(today_cst())
    if counted_from == "its summary dropped meanwhile":  # two nights: the first run's is dropped
        assert job.counted_through == inquiry_summary.current(api.wh).text()  # type: ignore[union-attr]
        for night in later[1:]:
            assert inquiry_summary.build(api.wh, night).seconds > 0
        assert job.counted_through not in {g.text() for g in inquiry_summary.kept(api.wh)}

    again = batch.BatchJobs(api.wh, service.inquiries, service.cfg, tmp_path / "batch")
    again.start()  # finds the job queued, as jdx serve's start does, and runs it
    try:
        deadline = time.monotonic() + 60
        while (found := again.find(job.id)) is None or found.status not in ("done", "failed"):
            assert time.monotonic() < deadline, "the job was not run again"
            time.sleep(0.05)
    finally:
        again.stop()
    assert found.status == "done", found
    first, second = computed[0], computed[1]
    figures = [c for c in first.column_names if c not in ("borrower_key", "consent_ref")]
    assert second.select(figures).to_pylist() == first.select(figures).to_pylist()
    result = pq.read_table(tmp_path / "batch" / job.id / "result.parquet")
    assert result.select(figures).to_pylist() == first.select(figures).to_pylist()
    a = first.to_pylist()[0]
    assert a["inquiries_12m"] > 0  # borrower A's earlier applications count, this job's do not
    logged = api.wh.query("t_job_inquiries", job=job.id).one()
    assert logged["ids"] == 2 and logged["n"] in (2, 4)  # logged again (until a merge), same ids
