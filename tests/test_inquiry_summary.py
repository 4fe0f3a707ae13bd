"""The inquiry summary (issue 16): batch jobs over HTTP answer the same inquiry figures whether
they count from ``inquiries`` alone or from the nightly summary plus the inquiries after it, with
the summary's generation splitting the 7-day window, an inquiry replayed, a member on both sides
of the split and the 365-day window's edges; a half-built generation is never read; old
generations are dropped; a generation another process has claimed is built once, and a claim
left by a build that died lapses (real uvicorn server, real chDB warehouse, golden
population)."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest
from api_support import Api, wait_done
from test_api_batch import rows_of

from products import inquiry_summary
from products.inquiry_log import InquiryRow, rows_table
from products.lookups.borrower import CST

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]

INQUIRY_FIGURES = ("inquiries_7d", "inquiry_institutions_7d", "inquiries_1m", "inquiries_3m",
                   "inquiries_12m")  # fmt: skip
#: borrower B's applications besides the golden ones (A's: tests/cases/lookups/population.json),
#: China time: (time, member, product, inquiry id)
B_INQUIRIES = [
    ("2026-10-27T09:00", "ML001", "MULTI_LOAN", 1),
    ("2026-10-28T10:00", "CF001", "MULTI_LOAN", 2),
    ("2026-10-28T11:00", "CF001", "SELF", 3),  # a self-inquiry is not an application
    ("2026-10-30T10:00", "CF001", "BATCH", 4),  # CF001 again, on the other side of Oct 30
    ("2026-10-30T10:00", "CF001", "BATCH", 4),  # the same inquiry replayed: counted once
    ("2025-11-01T00:00", "GI001", "MULTI_LOAN", 5),  # the 365-day window's first day (in)
    ("2025-10-31T23:59", "GI001", "MULTI_LOAN", 6),  # the day before it (out)
]
#: worked out by hand, as of 2026-10-31 (a day d is in window N iff as_of - N < d <= as_of)
EXPECTED = {
    # I3 Oct 28 GI, I4 I5 Oct 29 IP, I6 Oct 29 ML, I7 Oct 30 CF; I1 Aug 19, I2 Jun 9; I8 is
    # 2025-06-01 (out), I9 a self-inquiry, I10 after the as-of day
    "A": (5, 4, 5, 6, 7),
    # ML Oct 27, CF Oct 28, CF Oct 30 (replayed once); GI 2025-11-01 in the year only
    "B": (3, 2, 3, 3, 4),
    "C": (0, 0, 0, 0, 0),
}
AS_OF = "2026-10-31"


def at_cst(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CST)


@pytest.fixture(scope="module")
def summary_api(api: Api) -> Iterator[Api]:
    b = api.pop["borrowers"]["B"]
    key = api.pseud.borrower_key(b["id_type"], b["id_number"])
    api.wh.insert_arrow("inquiries", rows_table([
        InquiryRow(key, at_cst(when).astimezone(dt.UTC), f"00000000-0000-4000-9000-{n:012d}",
                   member, "CONSUMER_FINANCE", product, "LOAN_APPROVAL", "T", "t")
        for when, member, product, n in B_INQUIRIES
    ]))  # fmt: skip
    yield api


def batch(api: Api, as_of: str = AS_OF) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    """A batch job of A, B and C over HTTP: each borrower's inquiry figures, and where its
    ``batch_inquiries`` counted from: ``summary`` (a generation) or ``inquiries`` alone (its
    ``through`` is the year's first instant)."""
    ran: list[str] = []
    real = api.wh.query_arrow

    def spy(name: str, **params: Any) -> Any:
        if name == "batch_inquiries":
            ran.append("inquiries" if params["through"] == params["d365"] else "summary")
        return real(name, **params)

    body = {"purpose": "LOAN_APPROVAL", "as_of": as_of, "borrowers": rows_of(api, "A", "B", "C")}
    api.wh.query_arrow = spy  # type: ignore[method-assign]
    try:
        with api.client(api.tokens["BANK01"]) as c:
            r = c.post("/v1/batch", json=body)
            assert r.status_code == 202, r.text
            job = wait_done(c, r.json()["job"]["id"])
            assert job["status"] == "done", job
            result = c.get(f"/v1/batch/{job['id']}/result?format=parquet").content
            rows = pq.read_table(io.BytesIO(result)).to_pylist()
    finally:
        del api.wh.query_arrow
    figures = {
        ref: tuple(row[f] for f in INQUIRY_FIGURES) for ref, row in zip("ABC", rows, strict=True)
    }
    return figures, ran


def builds(api: Api) -> list[tuple[dt.datetime, int]]:
    return [(g["through"].replace(tzinfo=None), g["borrowers"])
            for g in api.wh.query("inquiry_summary_builds").dicts()]  # fmt: skip


def partitions(api: Api) -> list[str]:
    return [p for (p,) in api.wh.query("table_partitions", database=api.wh.database,
                                       table="inquiry_summary")]  # fmt: skip


def test_batch_figures_are_the_same_from_the_summary(summary_api: Api) -> None:
    api = summary_api
    figures, ran = batch(api)
    assert (figures, ran) == (EXPECTED, ["inquiries"])

    # the night of Oct 31 (China time): the generation ends at Oct 30 00:00, inside the 7 days
    made = inquiry_summary.build(api.wh, at_cst("2026-10-31T03:30"))
    through = at_cst("2026-10-30T00:00").astimezone(dt.UTC).replace(tzinfo=None)
    assert (made.through, made.first_day) == (through, dt.date(2025, 9, 25))
    assert made.borrowers == 2 and made.seconds > 0  # A and B
    figures, ran = batch(api)
    assert (figures, ran) == (EXPECTED, ["summary"])

    # built again the same day: nothing rebuilt under the jobs reading it
    again = inquiry_summary.build(api.wh, at_cst("2026-10-31T23:00"))
    assert (again.through, again.seconds) == (through, 0.0)
    assert builds(api) == [(through, 2)]


def test_a_half_built_generation_is_never_read_and_old_ones_are_dropped(
    summary_api: Api,
) -> None:
    api = summary_api
    b = api.pop["borrowers"]["B"]
    key = api.pseud.borrower_key(b["id_type"], b["id_number"])
    # a build killed before it recorded its generation (Nov 1 00:00): rows that would count
    # 9 more applications of B on Oct 31
    stray = at_cst("2026-11-01T00:00").astimezone(dt.UTC).replace(tzinfo=None)
    api.wh.insert_rows(
        "inquiry_summary", [(key, stray, [dt.date(2026, 10, 31)], ["ML001"], [9])],
        ["borrower_key", "through", "days", "members", "inquiries"],
    )  # fmt: skip
    figures, ran = batch(api)
    assert (figures, ran) == (EXPECTED, ["summary"])

    nights = ("2026-11-02T03:30", "2026-11-03T03:30", "2026-11-04T03:30")
    for night in nights:
        inquiry_summary.build(api.wh, at_cst(night))
        figures, ran = batch(api)  # the generations after the as-of day: all from the summary
        assert (figures, ran) == (EXPECTED, ["summary"])
    recorded = [through for through, _ in builds(api)]
    assert [f"{t:%m-%d %H:%M}" for t in recorded] == [
        "11-02 16:00", "11-01 16:00", "10-31 16:00", "10-29 16:00"
    ]  # fmt: skip
    # the newest two are kept; the stray rows were rebuilt as the Nov 1 generation, then dropped
    kept = [str(int(t.replace(tzinfo=dt.UTC).timestamp())) for t in recorded[:2]]
    assert partitions(api) == sorted(kept)


def test_a_year_the_summary_does_not_hold_is_counted_from_inquiries(summary_api: Api) -> None:
    api = summary_api
    newest = inquiry_summary.current(api.wh)
    assert newest is not None and not newest.holds(dt.date(2025, 12, 31))
    figures, ran = batch(api, "2025-12-31")
    # B: 2025-10-31 23:59 and 2025-11-01 00:00, both in 90 days; A: I8 (2025-06-01) in the year
    assert figures["B"] == (0, 0, 0, 2, 2) and figures["A"] == (0, 0, 0, 0, 1)
    assert ran == ["inquiries"]


def test_a_generation_another_process_claims_is_built_once(summary_api: Api) -> None:
    """Two processes building the night's generation against one server (several jdx serve,
    each with its scheduler): the one holding the claim builds it, the other neither drops nor
    writes its partition — it waits for the record and answers that generation. The other
    process is simulated by its claim, then by the build code itself on another thread (one
    process here: chDB)."""
    api = summary_api
    night = at_cst("2026-11-06T03:30")
    through = inquiry_summary.through_for(night)
    text = f"{through:%Y-%m-%d %H:%M:%S}"
    api.wh.execute("inquiry_summary_claim", through=text, build="another-process")
    before, recorded = partitions(api), builds(api)
    with pytest.raises(inquiry_summary.SummaryBusy, match="another process is building"):
        inquiry_summary.build(api.wh, night, wait=0.5)
    assert (partitions(api), builds(api)) == (before, recorded)  # nothing dropped or written

    other = threading.Thread(
        target=lambda: (time.sleep(1.5), inquiry_summary._build(api.wh, through))
    )
    other.start()
    try:
        waited = inquiry_summary.build(api.wh, night, wait=60)
    finally:
        other.join()
    assert (waited.through, waited.seconds) == (through, 0.0)  # recorded by the other, not here
    assert builds(api)[0] == (through, 2)
    figures, ran = batch(api)  # its counts once, not twice
    assert (figures, ran) == (EXPECTED, ["summary"])


def test_a_claim_left_by_a_build_that_died_lapses(summary_api: Api) -> None:
    api = summary_api
    night = at_cst("2026-11-07T03:30")
    through = inquiry_summary.through_for(night)
    died = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=inquiry_summary.CLAIM_SECONDS + 60)
    api.wh.insert_rows("inquiry_summary_claims", [(through, "a-build-that-died", died)],
                       ["through", "build", "claimed_at"])  # fmt: skip
    made = inquiry_summary.build(api.wh, night, wait=0.5)
    assert made.through == through and made.seconds > 0  # built here
    figures, ran = batch(api)
    assert (figures, ran) == (EXPECTED, ["summary"])


def test_a_retry_keeps_its_place_behind_a_claim_that_lapses(summary_api: Api) -> None:
    """The scheduler's retry after :class:`SummaryBusy` is the same claimant as its first attempt:
    once the claim ahead of it (a build that died) lapses, the retry builds — it does not queue
    behind the claim its own first attempt left."""
    api = summary_api
    night = at_cst("2026-11-08T03:30")
    through = inquiry_summary.through_for(night)
    # a claim that lapses 6 s from now: the first attempt gives up after ~1 s (one poll)
    claim = dt.timedelta(seconds=inquiry_summary.CLAIM_SECONDS)
    claimed = dt.datetime.now(dt.UTC) - claim + dt.timedelta(seconds=6)
    api.wh.insert_rows("inquiry_summary_claims", [(through, "a-build-that-died", claimed)],
                       ["through", "build", "claimed_at"])  # fmt: skip
    with pytest.raises(inquiry_summary.SummaryBusy):
        inquiry_summary.build(api.wh, night, wait=0.2)
    lapsed = claimed + claim + dt.timedelta(seconds=0.5)
    time.sleep(max(0.0, (lapsed - dt.datetime.now(dt.UTC)).total_seconds()))
    made = inquiry_summary.build(api.wh, night, wait=0.2)
    assert made.through == through and made.seconds > 0
