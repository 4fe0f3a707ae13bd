"""Each month's member-level aggregates, kept in the warehouse so a release stops re-reading history.

A release's statistics (:mod:`reports.statistics`) are sums of member-level rows that each
depend on one or two months of ``account_months``: the open book by bucket (``report_series``),
the book by the borrower's number of lenders (``report_lenders``, which also gives the
multi-borrowing prevalence of the month), the transitions from the previous month end
(``report_transitions``), the month's counts (``report_month_counts``) and, for the release
month, the segments (``report_segments``). :func:`load` returns those rows for a release; for
every (month, kind) it reuses the rows stored in ``report_aggregates`` (migration 0004) when
the data they were computed from is unchanged, and computes (and stores) only the others:

* a month's data is identified by its **fingerprint** (named query ``report_fingerprints``:
  stored rows, a checksum of their versions and the largest version — every insert changes it);
  transitions into a month depend on that month and the month before, so their fingerprint is
  the pair;
* rows are stored under a fresh *generation* id, then a stamp row naming the generation and the
  fingerprint; the latest stamp of a (month, kind) is current, older generations are deleted;
* months computed together run as one query per run of consecutive months where the query
  allows it (series, transitions, counts), so a first (cold) release costs about what the
  whole-window queries cost, and a release after one new month aggregates that month (and the
  transitions into it) only.

The rows returned are exactly the rows the whole-window queries return (same keys, same exact
integers and Decimals, same order), so the statistics are identical to a full recomputation
(tests/test_reports_incremental.py builds both and compares every figure). ``report_vintage``
is not split by month: an account's first delinquency needs its whole history, so it still runs
over the window (see docs/reports.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from reports.months import add_months

TABLE = "report_aggregates"
COLUMNS = (
    "month",
    "kind",
    "generation",
    "is_stamp",
    "fingerprint",
    "member_code",
    "key1",
    "key2",
    "key3",
    "borrowers",
    "accounts",
    "balance",
    "accounts_30",
    "balance_30",
    "accounts_90",
    "balance_90",
    "balance_fen",
    "members",
    "as_of",
    "computed_at",
)
#: the kinds of rows kept per month (see sql/migrations/0004_report_aggregates.sql)
KINDS = ("months", "series", "lenders", "transitions", "segments", "events", "vintage")
_ZERO_DAY = dt.date(1970, 1, 1)
#: the timing entry of writing computed aggregates (insert + removal of replaced ones)
WRITE = "report_aggregates (write)"


@runtime_checkable
class AggregateStore(Protocol):
    """What :func:`load` needs of a warehouse (``warehouse.Warehouse`` has it)."""

    def query(self, name: str, **params: Any) -> Any: ...

    def execute(self, name: str, **params: Any) -> None: ...

    def insert_rows(
        self, table: str, rows: Sequence[Sequence[Any]], column_names: Sequence[str]
    ) -> int: ...


@dataclass
class MonthRows:
    """The named queries' rows for one release, as :func:`reports.statistics.compute` reads them."""

    #: report_months: every month up to the release with account states
    months: list[dict[str, Any]]
    first: dt.date | None = None
    series: list[dict[str, Any]] = field(default_factory=list)
    borrowers: list[dict[str, Any]] = field(default_factory=list)
    lenders: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    #: report_vintage_month parts of the published cohorts (see dynamics.vintage_from_parts) …
    vintage_parts: list[dict[str, Any]] | None = None
    #: … or, when a cohort had an irregular account, report_vintage's rows
    vintage: list[dict[str, Any]] | None = None
    #: (month, kind) computed by this call (the rest came from the warehouse's aggregates)
    computed: list[tuple[dt.date, str]] = field(default_factory=list)


Runner = Callable[..., list[dict[str, Any]]]


class _Session:
    """One release's reads and writes of ``report_aggregates``."""

    def __init__(
        self, wh: AggregateStore, month: dt.date, run: Runner, clock: dict[str, float]
    ) -> None:
        self.wh = wh
        self.clock = clock
        self.month = month
        self.run = run
        self.fingerprints = {
            r["month"]: f"{r['rows']}:{r['checksum']}:{r['top']}"
            for r in run("report_fingerprints", month=month)
        }
        self.stamps: dict[tuple[dt.date, str], tuple[str, str]] = {
            (r["month"], r["kind_name"]): (r["generation"], r["fingerprint"])
            for r in run("report_aggregate_stamps", month=month)
        }
        #: (month, kind) → rows (as the named query returns them), current after this session
        self.rows: dict[tuple[dt.date, str], list[dict[str, Any]]] = {}
        self.computed: list[tuple[dt.date, str]] = []
        self._pending: list[tuple[Any, ...]] = []
        self._reuse: dict[str, tuple[dt.date, str]] = {}

    # -- which (month, kind) are current ------------------------------------------------------

    def fingerprint(self, month: dt.date, kind: str) -> str:
        own = self.fingerprints.get(month, "-")
        if kind in ("transitions", "events"):
            return f"{self.fingerprints.get(add_months(month, -1), '-')}/{own}"
        if kind == "vintage":  # this month's events against every earlier month's
            chain = "|".join(
                f"{m}={fp}" for m, fp in sorted(self.fingerprints.items()) if m <= month
            )
            return hashlib.sha256(chain.encode()).hexdigest()
        return own

    def missing(self, months: Iterable[dt.date], kind: str) -> list[dt.date]:
        """The months whose ``kind`` rows must be computed; the others are marked for reading."""
        out = []
        for month in months:
            stamp = self.stamps.get((month, kind))
            if stamp is not None and stamp[1] == self.fingerprint(month, kind):
                self._reuse[stamp[0]] = (month, kind)
            else:
                out.append(month)
        return out

    def read(self) -> None:
        """Fetch the rows of every (month, kind) marked for reuse, in one query."""
        if not self._reuse:
            return
        for key in self._reuse.values():
            self.rows.setdefault(key, [])
        for row in self.run("report_aggregate_rows", generations=sorted(self._reuse)):
            key = (row["month"], row["kind"])
            self.rows[key].append(_from_stored(row))
        self._reuse.clear()

    # -- computing ----------------------------------------------------------------------------

    def store(self, kind: str, months: Iterable[dt.date], rows: Iterable[dict[str, Any]]) -> None:
        """Rows just computed for ``months`` (some may have none): keep and queue them."""
        months = list(months)
        by_month: dict[dt.date, list[dict[str, Any]]] = {m: [] for m in months}
        for row in rows:
            if row["month"] in by_month:
                by_month[row["month"]].append(row)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for month, month_rows in by_month.items():
            generation = uuid.uuid4().hex
            for row in month_rows:
                self._pending.append(_to_stored(kind, month, generation, row, now))
            stamp = _stored_row(
                month, kind, generation, now, is_stamp=1, fingerprint=self.fingerprint(month, kind)
            )
            self._pending.append(stamp)
            self.rows[(month, kind)] = month_rows
            self.stamps[(month, kind)] = (generation, self.fingerprint(month, kind))
            self.computed.append((month, kind))

    def fill_events(self, month: dt.date) -> None:
        """Write ``month``'s account events server-side (``report_account_events_fill``)."""
        generation = uuid.uuid4().hex
        start = time.perf_counter()
        self.wh.execute("report_account_events_fill", month=month, generation=generation)
        name = "report_account_events_fill"
        self.clock[name] = self.clock.get(name, 0.0) + time.perf_counter() - start
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        fingerprint = self.fingerprint(month, "events")
        self._pending.append(
            _stored_row(month, "events", generation, now, is_stamp=1, fingerprint=fingerprint)
        )
        self.stamps[(month, "events")] = (generation, fingerprint)
        self.computed.append((month, "events"))

    def flush(self) -> None:
        """Write the queued rows (stamps after the rows they name), then drop replaced ones."""
        if not self._pending:
            return
        start = time.perf_counter()
        rows = sorted(self._pending, key=lambda r: r[3])  # is_stamp = 0 first
        self.wh.insert_rows(TABLE, rows, COLUMNS)
        self._pending.clear()
        months = sorted({m for m, _ in self.computed})
        keep = sorted(
            {self.stamps[(m, k)][0] for m in months for k in KINDS if (m, k) in self.stamps}
        )
        if getattr(self.wh, "cluster", None) is None:  # a lightweight DELETE needs local tables
            self.wh.execute("report_aggregates_prune", months=months, keep=keep)
            self.wh.execute("report_account_events_prune", months=months, keep=keep)
        self.clock[WRITE] = self.clock.get(WRITE, 0.0) + time.perf_counter() - start

    def collect(self, kind: str, months: Iterable[dt.date]) -> list[dict[str, Any]]:
        """The rows of ``kind`` for ``months``, in the order of the kind's named query."""
        rows = [row for month in months for row in self.rows.get((month, kind), [])]
        return sort_rows(kind, rows)


def load(
    wh: AggregateStore,
    month: dt.date,
    series_months: int,
    clock: dict[str, float] | None = None,
) -> MonthRows:
    """The rows of every named query a release of ``month`` needs (see the module docstring).

    ``MonthRows.first`` is ``None`` when ``month`` has no account states (the caller reports
    it); ``clock`` receives the seconds per named query (summed over calls).
    """
    timings = clock if clock is not None else {}

    def run(name: str, **params: Any) -> list[dict[str, Any]]:
        start = time.perf_counter()
        rows: list[dict[str, Any]] = wh.query(name, **params).dicts()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        return rows

    session = _Session(wh, month, run, timings)
    every = sorted(session.fingerprints)

    # month counts: every month up to the release (the window's start depends on the earliest)
    todo = session.missing(every, "months")
    for first, last in _runs(todo, every):
        session.store(
            "months",
            _between(todo, first, last),
            run("report_month_counts", first=first, month=last),
        )
    session.read()
    available = [row for m in every for row in session.rows.get((m, "months"), [])]
    out = MonthRows(months=available)
    if not available or available[-1]["month"] != month:
        session.flush()
        return out
    first = max(add_months(month, -(series_months - 1)), available[0]["month"])
    window = [row["month"] for row in available if row["month"] >= first]
    out.first = first

    todo = session.missing(window, "series")
    for a, b in _runs(todo, window):
        session.store("series", _between(todo, a, b), run("report_series", first=a, month=b))
    for m in session.missing(window, "lenders"):
        session.store("lenders", [m], _dated(run("report_lenders", month=m), m))
    later = window[1:]
    todo = session.missing(later, "transitions")
    for a, b in _runs(todo, later):
        rows = run("report_transitions", first=add_months(a, -1), month=b)
        session.store("transitions", _between(todo, a, b), rows)
    if session.missing([month], "segments"):
        session.store("segments", [month], run("report_segments", month=month))
    _vintage(session, every, run)
    session.read()
    session.flush()

    out.series = session.collect("series", window)
    for m in window:
        bands = session.rows.get((m, "lenders"), [])
        if bands:
            out.borrowers.append(
                {
                    "month": m,
                    "borrowers": sum(int(r["borrowers"]) for r in bands),
                    "lenders_3": sum(int(r["borrowers"]) for r in bands if r["band"] in _THREE),
                    "lenders_5": sum(int(r["borrowers"]) for r in bands if r["band"] == "5+"),
                }
            )
    out.lenders = session.collect("lenders", [month])
    out.segments = session.collect("segments", [month])
    out.transitions = session.collect("transitions", later)
    out.computed = session.computed

    # vintage: the months' parts of the cohorts complete by the release month, unless one of
    # those cohorts had an irregular account (then the whole-window query, exact in every case)
    def published(part: dict[str, Any]) -> bool:
        return first <= part["cohort"] and add_months(part["cohort"], 2) <= month

    parts = [p for p in session.collect("vintage", every) if published(p)]
    if any(p["kind"] == "irregular" for p in parts):
        out.vintage = run("report_vintage", first=first, month=month)
    else:
        out.vintage_parts = parts
    return out


def _vintage(session: _Session, every: list[dt.date], run: Runner) -> None:
    """Account events and vintage parts of every month up to the release, oldest first (a
    month's parts read the events of every earlier month)."""
    events = set(session.missing(every, "events"))
    todo = set(session.missing(every, "vintage"))
    for m in every:
        if m in events:
            session.fill_events(m)
        if m in todo:
            before = [session.stamps[(x, "events")][0] for x in every if x < m]
            rows = run(
                "report_vintage_month",
                month=m,
                generation=session.stamps[(m, "events")][0],
                before=before,
            )
            session.store("vintage", [m], _dated(rows, m))


_THREE = frozenset({"3-4", "5+"})


#: the most months one query aggregates at once (bounds a cold release's memory: the
#: transitions query holds every account's states of the months it reads)
RUN_MONTHS = 6


def _runs(todo: list[dt.date], order: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive entries of ``order`` that are all in ``todo`` (at most
    :data:`RUN_MONTHS` each): (first, last) each."""
    wanted = set(todo)
    runs: list[tuple[dt.date, dt.date]] = []
    current: list[dt.date] = []
    for month in order:
        if month in wanted and len(current) < RUN_MONTHS:
            current.append(month)
            continue
        if current:
            runs.append((current[0], current[-1]))
        current = [month] if month in wanted else []
    if current:
        runs.append((current[0], current[-1]))
    return runs


def _between(todo: list[dt.date], first: dt.date, last: dt.date) -> list[dt.date]:
    return [m for m in todo if first <= m <= last]


def _dated(rows: list[dict[str, Any]], month: dt.date) -> list[dict[str, Any]]:
    return [{**row, "month": month} for row in rows]


# -- the stored shape of each kind's rows -----------------------------------------------------

#: kind → (key columns key1..key3 ← query column, quantities ← query column)
_SHAPES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "months": ((), {"members": "members", "accounts": "accounts", "as_of": "as_of"}),
    "series": (("bucket",), {"accounts": "accounts", "balance": "balance"}),
    "lenders": (
        ("band",),
        {
            "borrowers": "borrowers",
            "accounts": "accounts",
            "balance": "balance",
            "accounts_30": "accounts_30",
            "balance_30": "balance_30",
            "accounts_90": "accounts_90",
            "balance_90": "balance_90",
        },
    ),
    "segments": (("dimension", "value", "bucket"), {"accounts": "accounts", "balance": "balance"}),
    "transitions": (
        ("from_state", "to_state"),
        {"accounts": "accounts", "balance_fen": "balance_fen"},
    ),
    "vintage": (("cohort", "kind", "mob"), {"accounts": "accounts", "balance": "amount"}),
}
_INTEGER_KEYS = frozenset({"bucket", "from_state", "to_state", "mob"})
_DATE_KEYS = frozenset({"cohort"})


def _stored_row(
    month: dt.date,
    kind: str,
    generation: str,
    now: dt.datetime,
    *,
    is_stamp: int = 0,
    fingerprint: str = "",
    member_code: str = "",
    keys: Sequence[str] = (),
    values: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    v = values or {}
    k = [*keys, "", "", ""][:3]
    return (
        month,
        kind,
        generation,
        is_stamp,
        fingerprint,
        member_code,
        k[0],
        k[1],
        k[2],
        int(v.get("borrowers", 0)),
        int(v.get("accounts", 0)),
        Decimal(v.get("balance", 0)),
        int(v.get("accounts_30", 0)),
        Decimal(v.get("balance_30", 0)),
        int(v.get("accounts_90", 0)),
        Decimal(v.get("balance_90", 0)),
        int(v.get("balance_fen", 0)),
        int(v.get("members", 0)),
        v.get("as_of", _ZERO_DAY),
        now,
    )


def _to_stored(
    kind: str, month: dt.date, generation: str, row: dict[str, Any], now: dt.datetime
) -> tuple[Any, ...]:
    keys, quantities = _SHAPES[kind]
    return _stored_row(
        month,
        kind,
        generation,
        now,
        member_code=str(row.get("member_code", "")),
        keys=[row[k].isoformat() if k in _DATE_KEYS else str(row[k]) for k in keys],
        values={column: row[name] for column, name in quantities.items()},
    )


def _from_stored(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row back in the shape its named query returns."""
    kind = row["kind"]
    keys, quantities = _SHAPES[kind]
    out: dict[str, Any] = {"month": row["month"]}
    if kind != "months":
        out["member_code"] = row["member_code"]
    for name, column in zip(keys, ("key1", "key2", "key3"), strict=False):
        value = row[column]
        if name in _INTEGER_KEYS:
            value = int(value)
        elif name in _DATE_KEYS:
            value = dt.date.fromisoformat(value)
        out[name] = value
    for column, name in quantities.items():
        out[name] = row[column]
    if kind == "series":
        out["dimension"], out["value"] = "industry", "all"
    return out


def sort_rows(kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the order their named query returns them (ORDER BY of each query)."""
    orders: dict[str, Callable[[dict[str, Any]], Any]] = {
        "series": lambda r: (r["month"], r["member_code"], r["bucket"]),
        "lenders": lambda r: (r["month"], r["band"], r["member_code"]),
        "segments": lambda r: (r["dimension"], r["value"], r["member_code"], r["bucket"]),
        "transitions": lambda r: (r["month"], r["member_code"], r["from_state"], r["to_state"]),
        "vintage": lambda r: (r["month"], r["cohort"], r["member_code"], r["kind"], r["mob"]),
    }
    return sorted(rows, key=orders[kind]) if kind in orders else rows
