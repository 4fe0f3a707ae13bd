"""``jdx report audit MONTH``: the attacker's audit of a month's release, printed for staff.

For every figure a release hides, the narrowest interval a reader can pin it to from everything
published in *all* releases so far (every month, every version), with the protection interval it
must not fall inside (:mod:`reports.audit`). Two subjects:

* the month's **published** release (its latest version): its suppression pattern as read from
  its CSV files, against every *other* release; a hidden figure another release printed has a
  zero-width interval and fails. The figures come from today's warehouse: if the month's data
  changed since (late or corrected files), the report says how many published figures differ;
* the **candidate** (``--candidate``, or no release of the month yet): what ``jdx report build``
  would publish now — disclosure control run as the build runs it, its final pattern audited
  again in full.

The output shows suppressed values: it is for the association's staff, never for publication.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from exchange.settings import Settings
from reports import history
from reports.audit import AuditResult, Interval
from reports.disclosure import PUBLISHED, audit_pattern, protect
from reports.history import quantity_id
from reports.months import add_months, month_key
from reports.release import all_releases, rule_of, versions
from reports.settings import ReportSettings
from reports.statistics import QuerySource, compute


@dataclass
class AuditReport:
    month: str
    #: ``YYYY-MM vN`` of the audited release, or ``candidate``
    subject: str
    #: the other releases read
    others: list[str]
    result: AuditResult
    #: figures the audited release printed that today's data no longer gives
    drift: int = 0
    notes: list[str] = field(default_factory=list)


def run(
    settings: Settings,
    wh: QuerySource,
    month: dt.date,
    *,
    candidate: bool = False,
    progress: Any = None,
    timings: dict[str, float] | None = None,
) -> AuditReport:
    """Audit ``month``'s latest release (or the candidate) against every other release;
    ``timings`` receives the seconds of its statistics and of its audit."""
    cfg = settings.section(ReportSettings)
    assert cfg.releases_dir is not None
    rule = rule_of(cfg)
    clock = timings if timings is not None else {}
    start = time.perf_counter()
    stats = compute(wh, month, cfg.series_months)
    clock["statistics"] = time.perf_counter() - start
    start = time.perf_counter()
    key = stats.key
    refs = all_releases(cfg.releases_dir)
    mine = versions(cfg.releases_dir, key)
    if candidate or not mine:
        earlier = history.load([(r.month, r.path) for r in refs])
        if progress:
            progress("disclosure control as the build runs it")
        protection = protect(stats, rule, earlier)
        cells = stats.by_id()
        hidden = {
            quantity_id(cells[cid], key) for cid, s in protection.status.items() if s != PUBLISHED
        }
        if progress:
            progress("auditing the candidate's final pattern")
        result = audit_pattern(stats, rule, earlier, hidden)
        clock["audit"] = time.perf_counter() - start
        return AuditReport(key, "candidate", earlier.releases, result)
    target = mine[-1]
    others = [r for r in refs if r != target]
    earlier = history.load([(r.month, r.path) for r in others])
    printed = history.rows(target.path / "tables", key)
    # a roll-rate row prints its accounts and balance only on its cells' rows: when every cell
    # of the row is hidden, the row is not printed, though its figures may be public (printed
    # by the previous month's release as a bucket) and published by the decision that stands
    rows_of = f"buckets|{month_key(add_months(month, -1))}|"
    hidden = {
        qid
        for qid, figures in printed
        if figures is None and not (qid.startswith(rows_of) and earlier.published.get(qid))
    }
    own = history.load([(key, target.path)])
    drift = sum(
        1
        for cell in stats.cells()
        if (qid := quantity_id(cell, key)) in own.published and not own.known(qid, cell)
    )
    if progress:
        progress(f"auditing {target.name} against {len(others)} other release(s)")
    result = audit_pattern(stats, rule, earlier, hidden)
    clock["audit"] = time.perf_counter() - start
    report = AuditReport(key, target.name, earlier.releases, result, drift)
    if drift:
        report.notes.append(
            f"{drift} figure(s) {target.name} printed differ from today's data (late or corrected "
            "files): the intervals are for today's figures; jdx report build makes the next version"
        )
    return report


def lines(report: AuditReport, limit: int | None = 20) -> list[str]:
    """What ``jdx report audit`` prints: the verdict, then the narrowest intervals first."""
    result = report.result
    intervals = sorted(result.intervals, key=lambda i: (i.width, i.quantity))
    failures = result.failures
    level, top = _pct(float(result.level)), _pct(float(result.top_level))
    out = [
        f"attacker's audit of {report.month} ({report.subject}) against "
        f"{len(report.others)} other release(s): {len(intervals)} hidden figure(s); protection "
        f"interval ±{level} of the value and ±{top} of the top contributor's part",
        "CONFIDENTIAL: shows suppressed values (staff only)",
        *report.notes,
        (
            f"FAIL: {len(failures)} hidden figure(s) can be narrowed inside their protection "
            "interval — such a release is not published"
            if failures
            else "pass: no hidden figure can be narrowed inside its protection interval"
        ),
    ]
    if not intervals:
        return out
    shown = intervals if limit is None else intervals[:limit]
    header = ("cell", "figure", "hidden value", "feasible [low, high]", "protection", "by", "")
    rows = [header, *(_row(i) for i in shown)]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if len(shown) < len(intervals):
        out.append(f"… {len(intervals) - len(shown)} wider interval(s) not shown (--all)")
    return out


def data(report: AuditReport) -> dict[str, Any]:
    """What ``jdx report audit --json`` prints."""
    result = report.result
    return {
        "month": report.month,
        "subject": report.subject,
        "others": report.others,
        "level": str(result.level),
        "top_contributor_level": str(result.top_level),
        "passed": result.passed,
        "drift": report.drift,
        "intervals": [
            {
                "cell": i.quantity[0],
                "figure": i.quantity[1],
                "value": i.value,
                "low": _json(i.low),
                "high": _json(i.high),
                "required": i.required,
                "top_share": i.top_share,
                "by_top_contributor": i.by_top,
                "passed": i.protected,
            }
            for i in sorted(result.intervals, key=lambda i: (i.width, i.quantity))
        ],
    }


def _row(i: Interval) -> tuple[str, ...]:
    if i.value == 0:
        feasible = "0: needs no width"
    elif i.high == float("inf"):
        feasible = "unbounded above"
    else:
        feasible = f"[{_num(i.low)}, {_num(i.high)}]"
    protection = f"[{_num(i.value - i.required)}, {_num(i.value + i.required)}]"
    by = f"top contributor ({_pct(i.top_share)} share)" if i.by_top else "value"
    return (
        i.quantity[0],
        i.quantity[1],
        _num(i.value),
        feasible,
        protection,
        by,
        "pass" if i.protected else "FAIL",
    )


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:g} %"


def _json(x: float) -> float | None:
    return None if x != x or x == float("inf") else x
