"""Data quality (DQ): per member, reporting day, dimension and field — rows of ``dq_daily`` —
and a 0–100 score. ``docs/ingest.md`` states the same formula for members.

Dimensions, each a pass rate ``passed / checked`` over a file's records:

* **completeness** — required values present: V203 (required), X314 (closed_date of an ended
  account), H505 (negative-notice date), and F111 (a required column missing from the header: no
  record passes);
* **validity** — values well-formed and consistent within the record and the file: every other
  ``F``, ``V``, ``X`` and ``W`` rule; a file rejected by a file-level error passes no record;
* **consistency** — agreement with the member's own history: H501 (dpd jump), H502 (identity
  changed), H503 (opened_date changed), H506 (D for an unknown account). H504 (a correction) is
  how a member should fix history and does not count against it;
* **identity** — agreement with other members: M601 (the same borrower key with another name
  hash elsewhere);
* **timeliness** — two checks per file: ``arrival`` (received by the spec's deadline: the end of
  the day ``timely_days`` after the file's own as_of — the control file's — in China Standard
  Time) and ``continuity`` (at most ``max_report_gap_days`` since the member's
  previous reporting date, i.e. no reporting period missing).

A record fails a dimension once however many of its issues belong to it; warnings and infos count
as well as errors (they load the record, but they are quality problems). The score is

    score = 100 × Σ_d w_d · (passed_d / checked_d) / Σ_d w_d    (dimensions with checked_d > 0)

with :data:`WEIGHTS` (validity .35, completeness .25, consistency .20, timeliness .10,
identity .10). A day's score sums passed and checked over the day's files first; a window's over
its days — so big files weigh more than small ones.

Rows: ``field = ''`` holds a dimension's totals (what the score uses); other rows break the
failures down by field — a record column, ``(file)`` for the file or its header, ``(row)`` for a
record that could not be read — and are written only for fields with failures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest.rules import RULES
from ingest.validate import Validation
from warehouse import Warehouse

DIMENSIONS = ("completeness", "validity", "timeliness", "consistency", "identity")
WEIGHTS = {
    "validity": 0.35,
    "completeness": 0.25,
    "consistency": 0.20,
    "timeliness": 0.10,
    "identity": 0.10,
}
COMPLETENESS_CODES = frozenset({"V203", "X314", "H505", "F111"})
CONSISTENCY_CODES = frozenset({"H501", "H502", "H503", "H506"})
IDENTITY_CODES = frozenset({"M601"})
#: Codes that say nothing about the data's quality: a correction, a duplicate file.
NOT_COUNTED = frozenset({"H504", "F115"})
FILE_FIELD, ROW_FIELD = "(file)", "(row)"
TOTAL = ""


def dimension_of(code: str) -> str | None:
    """The dimension a rule code counts against (None: not counted)."""
    if code in NOT_COUNTED:
        return None
    if code in COMPLETENESS_CODES:
        return "completeness"
    if code in CONSISTENCY_CODES:
        return "consistency"
    if code in IDENTITY_CODES:
        return "identity"
    return "validity"


@dataclass(frozen=True)
class DqRow:
    dimension: str
    field: str
    passed: int
    checked: int


@dataclass(frozen=True)
class Timing:
    """What timeliness is judged on."""

    received: dt.date  # the day the loader received the file, in China Standard Time (UTC+8)
    as_of: dt.date | None  # the control file's as_of (None: unreadable control file)
    previous_as_of: dt.date | None  # the member's latest as_of loaded before
    timely_days: int
    max_gap_days: int


def _timeliness(t: Timing) -> list[DqRow]:
    on_time = t.as_of is not None and (t.received - t.as_of).days <= t.timely_days
    continuous = (
        t.previous_as_of is None
        or t.as_of is None
        or (t.as_of - t.previous_as_of).days <= t.max_gap_days
    )
    passed = int(on_time) + int(continuous)
    return [
        DqRow("timeliness", TOTAL, passed, 2),
        DqRow("timeliness", "arrival", int(on_time), 1),
        DqRow("timeliness", "continuity", int(continuous), 1),
    ]


def _failures(validation: Validation) -> pa.Table:
    """Distinct (dimension, field, line) of the file's issues, fields named as in the module doc."""
    issues = validation.issue_table
    codes = issues.column("code").combine_chunks()
    encoded = pc.dictionary_encode(codes)
    named = pa.array([dimension_of(c) or "" for c in encoded.dictionary.to_pylist()], pa.string())
    dims = pc.take(named, encoded.indices)
    lines = issues.column("line").combine_chunks()
    file_level = pc.less_equal(lines, 1)
    raw = issues.column("field").combine_chunks()
    fields = pc.if_else(file_level, FILE_FIELD, pc.if_else(pc.equal(raw, ""), ROW_FIELD, raw))
    table = pa.table({"dimension": dims, "field": fields, "line": lines})
    table = table.filter(pc.not_equal(table.column("dimension"), ""))
    return table.group_by(["dimension", "field", "line"], use_threads=False).aggregate([])


def file_rows(validation: Validation, timing: Timing) -> list[DqRow]:
    """The DQ rows of one validated file (see the module doc)."""
    records = validation.records
    rows = _timeliness(timing)
    if records == 0:
        rejected = validation.file_rejected
        rows.append(DqRow("validity", TOTAL, 0 if rejected else 1, 1))
        if rejected:
            rows.append(DqRow("validity", FILE_FIELD, 0, 1))
        return rows
    failures = _failures(validation)
    header_gone = "F111" in validation.counts
    per_field = failures.group_by(["dimension", "field"], use_threads=False).aggregate(
        [("line", "count")]
    )
    by_dim: dict[str, list[tuple[str, int]]] = {}
    for dim, name, hit in zip(
        per_field.column("dimension").to_pylist(),
        per_field.column("field").to_pylist(),
        per_field.column("line_count").to_pylist(),
        strict=True,
    ):
        by_dim.setdefault(dim, []).append((name, int(hit)))
    record_lines = failures.filter(pc.greater_equal(failures.column("line"), 2))
    per_dim = record_lines.group_by(["dimension", "line"], use_threads=False).aggregate([])
    failed_records = {
        d["values"]: int(d["counts"])
        for d in pc.value_counts(per_dim.column("dimension")).to_pylist()
    }
    for dim in ("completeness", "validity", "consistency", "identity"):
        failed = failed_records.get(dim, 0)
        if (dim == "validity" and validation.file_rejected) or (
            dim == "completeness" and header_gone
        ):
            failed = records
        rows.append(DqRow(dim, TOTAL, records - min(failed, records), records))
        for name, hit in sorted(by_dim.get(dim, [])):
            checked = 1 if name == FILE_FIELD else records
            rows.append(DqRow(dim, name, checked - min(hit, checked), checked))
    return rows


def rates(rows: Iterable[tuple[str, int, int]]) -> dict[str, float]:
    """Pass rate per dimension from ``(dimension, passed, checked)`` totals (summed first)."""
    passed: dict[str, int] = {}
    checked: dict[str, int] = {}
    for dim, p, c in rows:
        passed[dim] = passed.get(dim, 0) + int(p)
        checked[dim] = checked.get(dim, 0) + int(c)
    return {d: passed[d] / checked[d] for d in DIMENSIONS if checked.get(d)}


def score(dimension_rates: dict[str, float]) -> float | None:
    """The 0–100 weighted score of dimension pass rates; None when nothing was checked."""
    weights = {d: WEIGHTS[d] for d in dimension_rates}
    total = sum(weights.values())
    if not total:
        return None
    return round(100 * sum(weights[d] * dimension_rates[d] for d in weights) / total, 2)


def file_score(rows: list[DqRow]) -> tuple[float | None, dict[str, float]]:
    """``(score, rates)`` of one file's rows."""
    r = rates((row.dimension, row.passed, row.checked) for row in rows if row.field == TOTAL)
    return score(r), r


def dq_table(
    rows: list[DqRow], *, member: str, day: dt.date, load_id: str, computed_at: dt.datetime
) -> pa.Table:
    """Rows for the warehouse table ``dq_daily``."""
    n = len(rows)
    return pa.table(
        {
            "member_code": pa.array([member] * n, pa.string()),
            "day": pa.array([day] * n, pa.date32()),
            "dimension": pa.array([r.dimension for r in rows], pa.string()),
            "field": pa.array([r.field for r in rows], pa.string()),
            "passed": pa.array([r.passed for r in rows], pa.uint64()),
            "checked": pa.array([r.checked for r in rows], pa.uint64()),
            "computed_at": pa.array([computed_at] * n, pa.timestamp("ms", tz="UTC")),
            "load_id": pa.array([load_id] * n, pa.string()),
        }
    )


@dataclass(frozen=True)
class DayScore:
    day: dt.date
    files: int
    records: int
    score: float | None
    rates: dict[str, float]


@dataclass(frozen=True)
class Lift:
    """How many points the window's score would gain if one dimension passed everything."""

    dimension: str
    rate: float
    points: float


@dataclass(frozen=True)
class MemberReport:
    """A member's DQ over a window: per day, overall, worst fields and rules, what would lift it."""

    member: str
    since: dt.date
    days: list[DayScore]
    score: float | None
    rates: dict[str, float]
    worst_fields: list[tuple[str, str, int]]  # dimension, field, failed
    worst_rules: list[tuple[str, str, int]]  # code, severity, issues
    corrected: int = 0  # records whose failures a later accepted correction lifted
    lifts: tuple[Lift, ...] = ()


def lifts(dimension_rates: dict[str, float]) -> tuple[Lift, ...]:
    """Per dimension that is not perfect, the points a perfect dimension would add to the score,
    most first: ``100 · w_d · (1 − rate_d) / Σ w`` over the dimensions checked."""
    total = sum(WEIGHTS[d] for d in dimension_rates)
    if not total:
        return ()
    found = [
        Lift(d, r, round(100 * WEIGHTS[d] * (1 - r) / total, 2))
        for d, r in dimension_rates.items()
        if r < 1
    ]
    return tuple(sorted(found, key=lambda x: (-x.points, x.dimension)))


def _totals(wh: Warehouse, member: str, since: dt.date) -> tuple[list[dict[str, Any]], int]:
    """``dq_member_days`` with the failures that later corrections replaced counted as passed,
    and how many records that lifted (docs/ingest.md "Corrections")."""
    superseded = [str(r[0]) for r in wh.query("dq_member_superseded", member=member)]
    params = {"member": member, "since": since, "superseded": superseded}
    totals = wh.query("dq_member_days", **params).dicts()
    corrected: dict[tuple[dt.date, str], set[tuple[str, int]]] = {}
    for row in wh.query("dq_member_corrected", **params).dicts():
        dim = dimension_of(str(row["code"]))
        if dim is not None:
            corrected.setdefault((row["day"], dim), set()).add((row["load_id"], int(row["line"])))
    records: set[tuple[str, int]] = set()
    for row in totals:
        lifted = corrected.get((row["day"], str(row["dimension"])), set())
        if lifted:
            row["passed"] = min(int(row["checked"]), int(row["passed"]) + len(lifted))
            records |= lifted
    return totals, len(records)


def member_score(wh: Warehouse, member: str, since: dt.date) -> float | None:
    """A member's score over the reporting days since ``since`` (None: no DQ data): the figure
    reciprocity ("give to get") should compare with its threshold."""
    totals, _ = _totals(wh, member, since)
    return score(rates((str(x["dimension"]), int(x["passed"]), int(x["checked"])) for x in totals))


def member_report(wh: Warehouse, member: str, since: dt.date, *, limit: int = 10) -> MemberReport:
    """Read a member's DQ since ``since`` from the warehouse (named queries ``dq_member_*``)."""
    totals, corrected = _totals(wh, member, since)
    per_day: dict[dt.date, list[dict[str, Any]]] = {}
    for row in totals:
        per_day.setdefault(row["day"], []).append(row)
    days = []
    for day, found in sorted(per_day.items()):
        r = rates((str(x["dimension"]), int(x["passed"]), int(x["checked"])) for x in found)
        validity = [x for x in found if x["dimension"] == "validity"]
        records = int(validity[0]["checked"]) if validity else 0
        files = max(int(x["files"]) for x in found)
        days.append(DayScore(day, files, records, score(r), r))
    window = rates((str(x["dimension"]), int(x["passed"]), int(x["checked"])) for x in totals)
    fields = [
        (str(d), str(f), int(n))
        for d, f, n in wh.query("dq_member_fields", member=member, since=since, limit=limit)
    ]
    rules = [
        (str(c), str(s), int(n))
        for c, s, n in wh.query("dq_member_rules", member=member, since=since, limit=limit)
    ]
    return MemberReport(
        member, since, days, score(window), window, fields, rules, corrected, lifts(window)
    )


def counts_by_code(issues: pa.Table) -> dict[str, int]:
    """Issues per rule code (all severities)."""
    if issues.num_rows == 0:
        return {}
    counted = pc.value_counts(issues.column("code")).to_pylist()
    return {c["values"]: int(c["counts"]) for c in sorted(counted, key=lambda c: c["values"])}


#: What a member can do about each dimension (the DQ file and ``GET /v1/dq``).
ADVICE = {
    "validity": "fix the rules listed under worst_rules; a record's failure stops counting once a "
    "corrected record with the same account_id and as_of_date is accepted",
    "completeness": "fill the required values listed under worst_fields (consent_ref, closed_date "
    "of ended accounts, negative_notice_date when dpd first turns positive)",
    "consistency": "keep each account's history consistent: dpd grows at most by the days "
    "elapsed; to change an account's identity send D, then A",
    "timeliness": "send each day's file by the deadline (timely_days after its as_of, China "
    "Standard Time) and leave no reporting gap longer than max_report_gap_days",
    "identity": "check the names you report against the borrowers' identity documents",
}


def report_doc(report: MemberReport, *, threshold: float, until: dt.date) -> dict[str, Any]:
    """A member's DQ report as JSON: the daily DQ file in its outbox and ``GET /v1/dq``."""
    rule = RULES
    return {
        "member": report.member,
        "window": {"from": report.since.isoformat(), "to": until.isoformat()},
        "score": report.score,
        "threshold": threshold,
        "below_threshold": report.score is not None and report.score < threshold,
        "dimensions": {d: round(r, 6) for d, r in report.rates.items()},
        "weights": WEIGHTS,
        "corrected_records": report.corrected,
        "days": [
            {"day": d.day.isoformat(), "files": d.files, "records": d.records, "score": d.score}
            for d in report.days
        ],
        "worst_fields": [
            {"dimension": dim, "field": name, "failed": failed}
            for dim, name, failed in report.worst_fields
        ],
        "worst_rules": [
            {
                "code": code,
                "name": rule[code].name if code in rule else "",
                "severity": severity,
                "issues": issues,
                "rule": rule[code].description if code in rule else "",
            }
            for code, severity, issues in report.worst_rules
        ],
        "lift": [
            {
                "dimension": x.dimension,
                "rate": round(x.rate, 6),
                "points": x.points,
                "advice": ADVICE[x.dimension],
            }
            for x in report.lifts
        ],
    }
