"""``inquiries_recent`` (migration 0019): the last 8 days of ``inquiries`` by day, which the
readers bounded in time take instead of the month's partition (issue 16).

From the users' side: a batch job run after last night's inquiry summary counts the lookups made
since, read from the new table; the inquiry log's fold counts a minute's lookups from it (the
inquiry log's own tests, tests/test_api_inquiry_log.py, fail when the table is left empty). Here
also: what the table holds, the choice of table at 7 days, the same answers from both tables, and
the migration's backfill on a warehouse at 0018, re-run as after a kill."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterator

import httpx
import pyarrow.parquet as pq
import pytest
from api_support import Api, wait_done

from products import inquiry_summary
from products.inquiry_log import InquiryRow, inquiry_source, rows_table
from products.lookups.borrower import today_cst
from warehouse import Warehouse, connect, load_migrations, migrate
from warehouse.sqlfiles import read_text

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]

FOLD = read_text("queries", "inquiry_counts_fold.sql")
EXTRA_QUERIES = {
    "t_recent_ids": "SELECT toString(inquiry_id) AS id FROM inquiries_recent FINAL ORDER BY id",
    "t_recent_rows": "SELECT count() AS n FROM inquiries_recent",
    "t_fold_counts": FOLD[FOLD.index("\nSELECT") :],  # the fold's counts, without its insert
}

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
#: the rows' ages: the first three are within the table's 8 days, the last two are not
AGES = {"1h": dt.timedelta(hours=1), "2d": dt.timedelta(days=2),
        "7.5d": dt.timedelta(days=7, hours=12), "9d": dt.timedelta(days=9),
        "40d": dt.timedelta(days=40)}  # fmt: skip
KEPT = ("1h", "2d", "7.5d")


def row(age: str, key: str = "a" * 64, member: str = "M1") -> InquiryRow:
    return InquiryRow(
        borrower_key=key, queried_at=NOW - AGES[age], inquiry_id=str(uuid.uuid5(uuid.NAMESPACE_URL, age + key)),
        member_code=member, member_type="BANK", product="MULTI_LOAN", purpose="LOAN_APPROVAL",
        consent_ref="c", api_key_id="k",
    )  # fmt: skip


@pytest.fixture
def at_0018(wh: Warehouse) -> Iterator[Warehouse]:
    """A database of the module's directory migrated up to 0018, before this table existed."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    with connect(f"chdb://{wh.path}", database=database) as old:
        migrate(old, upto=18)
        yield old
        old.command("DROP DATABASE IF EXISTS {db:Identifier}", db=database)


def ids(wh: Warehouse) -> list[str]:
    return [r[0] for r in wh.query("t_recent_ids")]


def test_the_view_keeps_the_last_8_days_and_readers_take_them_up_to_7_days_old(
    fresh_wh: Warehouse,
) -> None:
    fresh_wh.insert_arrow("inquiries", rows_table([row(age) for age in AGES]))
    assert ids(fresh_wh) == sorted(row(age).inquiry_id for age in KEPT)
    # a row older than 8 days written into the table itself: its TTL drops it (the engine
    # applies it when the part is written, at the latest at a merge)
    fresh_wh.insert_arrow(
        "inquiries_recent", rows_table([row("9d", "c" * 64), row("2d", "c" * 64)])
    )
    fresh_wh.optimize("inquiries_recent")
    assert ids(fresh_wh) == sorted(
        [row(age).inquiry_id for age in KEPT] + [row("2d", "c" * 64).inquiry_id]
    )
    naive = NOW.replace(tzinfo=None)
    assert inquiry_source(naive - dt.timedelta(days=6, hours=23)) == "inquiries_recent"
    assert inquiry_source(naive - dt.timedelta(days=7, minutes=1)) == "inquiries"
    assert inquiry_source(naive + dt.timedelta(days=30)) == "inquiries_recent"  # a test's future


def test_both_tables_answer_the_readers_alike_from_7_days_on(fresh_wh: Warehouse) -> None:
    """The start's read and the fold's, from 6 days ago: the same rows from either table (a row
    inserted twice, as a journal replay does, is one)."""
    rows = [
        row(age, key, member)
        for age in AGES
        for key, member in (("a" * 64, "M1"), ("b" * 64, "M2"))
    ]
    fresh_wh.insert_arrow("inquiries", rows_table(rows))
    fresh_wh.insert_arrow("inquiries", rows_table(rows[:4]))  # a replay
    start = (NOW - dt.timedelta(days=6)).strftime("%Y-%m-%d %H:%M:%S.000")
    since = {s: sorted(fresh_wh.query("inquiries_since", source=s, start=start))
             for s in ("inquiries", "inquiries_recent")}  # fmt: skip
    assert since["inquiries"] == since["inquiries_recent"] and len(since["inquiries"]) == 4
    end = NOW.strftime("%Y-%m-%d %H:%M:%S.000")
    counted = {
        s: sorted(fresh_wh.query("t_fold_counts", source=s, start=start, end=end, version=1))
        for s in ("inquiries", "inquiries_recent")
    }
    assert counted["inquiries"] == counted["inquiries_recent"] and len(counted["inquiries"]) == 4


def test_the_migration_copies_the_last_8_days_once_even_run_again(at_0018: Warehouse) -> None:
    at_0018.insert_arrow("inquiries", rows_table([row(age) for age in AGES]))
    assert migrate(at_0018) == ["0019_inquiries_recent"]
    assert ids(at_0018) == sorted(row(age).inquiry_id for age in KEPT)
    # killed after its backfill and before its record, a re-run copies the rows again: FINAL
    # (and every reader's distinct ids) sees each once
    backfill = [s for s in open_migration() if s.startswith("INSERT INTO inquiries_recent")]
    assert len(backfill) == 1
    at_0018.command(backfill[0])
    assert at_0018.query("t_recent_rows").one()["n"] == 6
    assert ids(at_0018) == sorted(row(age).inquiry_id for age in KEPT)


def open_migration() -> list[str]:
    (found,) = [m for m in load_migrations("single") if m.name == "0019_inquiries_recent"]
    return [s.strip() for s in found.statements]


def test_a_job_after_last_nights_summary_counts_the_lookups_made_since(api: Api) -> None:
    """A batch job run once the nightly summary is built reads the days after it from
    ``inquiries_recent``: today's lookups of the borrower count in its 7-day and 12-month figures,
    on top of what the same job counted before them from ``inquiries`` alone."""

    def job(c: httpx.Client) -> dict:
        body = {"purpose": "LOAN_APPROVAL", "borrowers": [
            {k: v for k, v in api.borrower("A").items() if k != "purpose"}]}  # fmt: skip
        r = c.post("/v1/batch", json=body)
        assert r.status_code == 202, r.text
        state = wait_done(c, r.json()["job"]["id"])
        assert state["status"] == "done", state
        job_id = state["id"]
        result = c.get(f"/v1/batch/{job_id}/result?format=parquet").content
        return pq.read_table(io.BytesIO(result)).to_pylist()[0]

    with api.client(api.tokens["BANK01"]) as bank:
        assert inquiry_summary.current(api.wh) is None
        before = job(bank)  # from inquiries alone
        with api.client(api.tokens["ML001"]) as micro:
            for _ in range(2):
                assert micro.post("/v1/multi-loan", json=api.borrower("A")).status_code == 200
        api.service.inquiries.flush()
        made = inquiry_summary.build(api.wh)  # last night's, by the real clock
        assert made.holds(today_cst())
        after = job(bank)
    # the lookups since: ML001's two, and the first job's row (BANK01, a batch inquiry of today)
    assert after["inquiries_7d"] == before["inquiries_7d"] + 3
    assert after["inquiries_12m"] == before["inquiries_12m"] + 3
    assert after["inquiry_institutions_7d"] >= max(2, before["inquiry_institutions_7d"])
