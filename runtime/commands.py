"""Staff commands that need the warehouse, one implementation each.

With the embedded warehouse only the serving process may open it, so a command runs where the
warehouse is: inside ``jdx serve`` when it runs (the CLI sends it over the admin channel,
:mod:`runtime.admin`), in the CLI's own process otherwise (:func:`run_local`). Either way the
same function below runs, with the same parameters, and returns the same JSON-able result:
``{"lines": [...], "data": {...}}`` — ``lines`` what the CLI prints, ``data`` what ``--json``
prints. Long commands report progress through ``progress(text)``, which the channel streams.

Every command run through here is recorded in the audit chain with the staff actor
(``admin.<command>``), on top of the records the acts themselves make (a release, a statement).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exchange.errors import InvalidInput
from exchange.settings import Settings
from ingest.settings import IngestSettings
from products.settings import ApiSettings
from reports.settings import ReportSettings
from runtime.errors import UnknownCommand

Progress = Callable[[str], None]
Result = dict[str, Any]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Command:
    name: str
    run: Callable[[Settings, Any, dict[str, Any], str, Progress], Result]
    reads_only: bool = False  # may run (unaudited) where no registry exists yet
    check: Callable[[dict[str, Any]], None] | None = None  # parameters, before anything runs
    #: free-text parameters (a person's own words may name them): audited as their SHA-256 only
    hashed: tuple[str, ...] = ()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def dq_show(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """A member's DQ per reporting day over ``days`` days, worst fields and rules."""
    from exchange.registry import db as registry_db
    from exchange.registry import get_member
    from ingest.dq import DIMENSIONS, member_report

    days = int(params.get("days", 30))
    with registry_db.session(settings.registry_url, readonly=True) as db:
        code = get_member(db, str(params["member"])).code
    since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days - 1)
    report = member_report(wh, code, since)
    threshold = settings.section(IngestSettings).dq_threshold
    lines = [f"DQ of member {code} since {since} (threshold {threshold:g})"]
    if not report.days:
        lines.append("no files loaded in this window")
    else:
        pct = lambda v: "     -" if v is None else f"{100 * v:5.1f}%"  # noqa: E731
        lines.append(
            "day          files   records  score " + " ".join(f"{d:>12}" for d in DIMENSIONS)
        )
        for day in report.days:
            score = "    -" if day.score is None else f"{day.score:5.1f}"
            flag = " *" if day.score is not None and day.score < threshold else ""
            cells = " ".join(f"{pct(day.rates.get(d)):>12}" for d in DIMENSIONS)
            lines.append(f"{day.day}  {day.files:5d}  {day.records:8,d}  {score} {cells}{flag}")
        overall = "-" if report.score is None else f"{report.score:.1f}"
        below = report.score is not None and report.score < threshold
        lines.append(
            f"score over the window: {overall}"
            + (" — BELOW the threshold (* marks such days)" if below else "")
        )
        if report.corrected:
            lines.append(f"records lifted by later accepted corrections: {report.corrected:,}")
        if report.worst_fields:
            lines.append("worst fields (dimension, field, records failing):")
            lines += [f"  {d:<13} {f:<22} {n:,}" for d, f, n in report.worst_fields]
        if report.worst_rules:
            lines.append("rules broken most (code, severity, issues):")
            lines += [f"  {c}  {s:<8} {n:,}" for c, s, n in report.worst_rules]
    data = _jsonable({**dataclasses.asdict(report), "threshold": threshold})
    return {"lines": lines, "data": data}


def warehouse_status(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Where the warehouse is, schema version, pending migrations, rows and size per table."""
    from warehouse import pending

    tables = wh.table_stats()
    status = {
        "dsn": wh.dsn_masked,
        "mode": "embedded" if wh.is_embedded else "server",
        "path": str(wh.path) if wh.path else None,
        "database": wh.database,
        "cluster": wh.cluster,
        "schema_version": wh.schema_version(),
        "pending": [m.name for m in pending(wh)],
        "tables": [
            {
                "table": t["table"],
                "engine": t["engine"],
                "rows": t["rows"],
                "parts": t["active_parts"],
                "bytes_on_disk": t["bytes_on_disk"],
            }
            for t in tables
        ],
        "disk_bytes": sum(int(t["bytes_on_disk"]) for t in tables),
    }
    where = f"embedded chDB at {status['path']}" if status["mode"] == "embedded" else "server"
    lines = [
        f"warehouse: {status['dsn']} ({where})",
        f"database: {status['database']}"
        + (f", cluster {status['cluster']}" if status["cluster"] else ""),
        f"schema version: {status['schema_version']}",
        "pending migrations: "
        + (
            ", ".join(status["pending"]) + " (run: jdx warehouse migrate)"
            if status["pending"]
            else "none"
        ),
    ]
    stored = [t for t in status["tables"] if t["rows"] is not None]
    if stored:
        width = max(len(t["table"]) for t in stored)
        lines.append(f"{'TABLE'.ljust(width)}  {'ROWS':>14}  {'PARTS':>5}  {'ON DISK':>10}")
        lines += [
            f"{t['table'].ljust(width)}  {t['rows']:>14,}  {t['parts']:>5}  {size(t['bytes_on_disk']):>10}"
            for t in stored
        ]
    lines.append(f"size on disk: {size(status['disk_bytes'])}")
    return {"lines": lines, "data": _jsonable(status)}


def size(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def report_build(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Build a month's delinquency release (the latest month with data by default)."""
    from reports.months import parse_month
    from reports.release import build, latest_month

    month = params.get("month")
    wanted = parse_month(str(month)) if month else latest_month(wh)
    progress(f"building the release of {wanted:%Y-%m} (statistics, disclosure, seasonal, files)")
    result = build(settings, wh, wanted, actor=actor, progress=progress)
    lines = result_lines(
        result, settings.section(ReportSettings).decimals, timings=bool(params.get("timings"))
    )
    data = {"month": result.month, "version": result.version, "path": str(result.path),
            "created": result.created, "revisions": len(result.revisions)}  # fmt: skip
    return {"lines": lines, "data": data}


def report_audit(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """The attacker's audit of a month's release (or of the candidate): the narrowest feasible
    intervals of its suppressed figures from everything published (reports.auditing)."""
    from reports import auditing
    from reports.months import parse_month

    wanted = parse_month(str(params["month"]))
    progress(f"auditing the release of {wanted:%Y-%m} against every published release")
    report = auditing.run(
        settings, wh, wanted, candidate=bool(params.get("candidate")), progress=progress
    )
    limit = None if params.get("all") else 20
    return {"lines": auditing.lines(report, limit), "data": auditing.data(report)}


def result_lines(result: Any, decimals: int, *, timings: bool = False) -> list[str]:
    """What ``jdx report build`` prints (also ``jdx demo``): where, headline, counts."""
    from reports.render.html import headline_text

    pub = result.publication
    assert pub is not None
    if result.created:
        lines = [f"published {result.month} v{result.version}: {result.path}"]
    else:
        lines = [
            f"{result.month}: figures unchanged since v{result.version} ({result.path}); "
            "nothing written"
        ]
    lines += [f"  {line}" for line in headline_text(pub, decimals)]
    protection = pub.protection
    lines.append(
        f"  disclosure: {len(protection.status)} cells, {protection.primary} suppressed by the "
        f"rule, {protection.secondary} to protect them"
    )
    if result.created and result.previous:
        lines.append(f"  revisions against {result.previous.name}: {len(result.revisions)}")
    lines += [f"  seasonal {series}: {adj.method}" for series, adj in pub.seasonal.items()]
    if timings:
        lines += [f"  {stage:<36} {seconds:8.2f} s" for stage, seconds in result.timings.items()]
    return lines


def billing_statement(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Write a member's monthly statement (CSV and PDF) from the inquiry log and the price list."""
    from exchange import audit
    from exchange.registry import db as registry_db
    from exchange.registry import get_member
    from products import billing

    month = str(params["month"])
    if not _MONTH.match(month):
        raise InvalidInput(f"--month {month!r} is not a month; use YYYY-MM, e.g. 2026-10")
    with registry_db.session(settings.registry_url, readonly=True) as db:
        member = get_member(db, str(params["member"]))
    prices = billing.load_prices(settings.section(ApiSettings).price_list)
    statement = billing.statement(wh, member.code, member.name, month, prices)
    out = params.get("out_dir")
    folder = Path(out) if out else settings.home / "statements" / member.code
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{member.code}_{month}.statement"
    csv_path, pdf_path = folder / f"{stem}.csv", folder / f"{stem}.pdf"
    csv_path.write_text(billing.to_csv(statement), encoding="utf-8")
    pdf_path.write_bytes(billing.to_pdf(statement))
    with registry_db.session(settings.registry_url) as db:
        audit.append(
            db,
            actor=actor,
            action="billing.statement",
            obj=f"member:{member.code}",
            details={"month": month, "total": str(statement.total), "prices": prices.source},
        )
    lines = [str(csv_path), str(pdf_path),
             f"total {statement.total:.2f} {prices.currency} ({prices.source} prices)"]  # fmt: skip
    data = {"csv": str(csv_path), "pdf": str(pdf_path), "total": str(statement.total),
            "currency": prices.currency}  # fmt: skip
    return {"lines": lines, "data": data}


def _day(params: dict[str, Any], name: str) -> dt.date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"--{name.replace('_', '-')} {value!r} is not a day YYYY-MM-DD"
        ) from None


def dispute_open(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Open a case for a person (already identified by staff, as a borrower key) against one
    member's records of one account; the account must be the person's in the warehouse. The
    lookups flag it at once; the member finds the notice in its outbox."""
    from exchange.registry import db as registry_db
    from exchange.registry import disputes
    from exchange.registry.models import utcnow
    from ingest import disputes as area_disputes
    from ingest.areas import ensure_area
    from products.lookups.borrower import fetch, today_cst

    key, member = str(params["borrower_key"]), str(params["member"]).upper()
    account = str(params["account_id"])
    held = fetch(wh, key, today_cst()) if re.fullmatch(r"[0-9a-f]{64}", key) else None
    if held is None or not any(
        a.member_code == member and a.account_id == account for a in held.accounts
    ):
        raise InvalidInput(
            f"the person has no account {account!r} at member {member} in the warehouse; "
            "check the member and account with the person's self-report"
        )
    now = utcnow()
    with registry_db.session(settings.registry_url) as db:
        case = disputes.open_case(
            db, member_code=member, account_id=account, borrower_key=key,
            statement=str(params.get("statement") or ""),
            records_from=_day(params, "records_from"), records_to=_day(params, "records_to"),
            actor=actor, now=now,
        )  # fmt: skip
    root = settings.section(IngestSettings).members_root
    assert root is not None
    notice = area_disputes.notice(ensure_area(root, member), case, "dispute", now)
    lines = [
        f"dispute {case.case_no} opened against {member}'s account {account}: due "
        f"{case.due_at:%Y-%m-%d %H:%M} UTC; lookups flag it from now on",
        f"the member's notice: {notice}",
    ]
    return {"lines": lines, "data": case.public(now)}


def dispute_list(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Cases of one member or all, in one status, or only the overdue (escalated) ones."""
    from exchange.domain import DisputeStatus
    from exchange.registry import db as registry_db
    from exchange.registry import disputes
    from exchange.registry.models import utcnow

    status = params.get("status")
    now = utcnow()
    with registry_db.session(settings.registry_url, readonly=True) as db:
        if params.get("case_no"):
            cases = [disputes.get_case(db, params["case_no"])]
        else:
            cases = disputes.list_cases(
                db, member_code=params.get("member") or None,
                status=DisputeStatus(status) if status else None,
                overdue=bool(params.get("overdue")), now=now,
            )  # fmt: skip
    lines = [
        f"{c.case_no}  {c.member_code:<10} {c.account_id:<20} {c.status.value:<9} "
        f"{(c.outcome.value if c.outcome else '-'):<9} opened {c.opened_at:%Y-%m-%d}  due "
        f"{c.due_at:%Y-%m-%d}" + ("  OVERDUE" if c.overdue(now) else "")
        for c in cases
    ] or ["no disputes"]
    return {"lines": lines, "data": {"cases": [c.public(now) for c in cases]}}


def self_report(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """A person's own full report, JSON and PDF (:func:`products.self_report.produce`)."""
    from products import self_report
    from reports.render.pdf import write_pdf

    made = self_report.produce(
        settings, wh, str(params["borrower_key"]), masked_id=str(params.get("masked_id") or ""),
        accept_fee=bool(params.get("accept_fee")), staff=actor, write_pdf=write_pdf,
        out_dir=Path(params["out_dir"]) if params.get("out_dir") else None, progress=progress,
    )  # fmt: skip
    lines = [
        f"self-report {made.reference}: {made.accounts} accounts, {made.inquiries} inquiries; "
        f"report {made.nth_this_year} of {made.year}, fee {made.currency} {made.fee}",
        f"  {made.pdf}",
        f"  {made.json}",
    ]
    return {"lines": lines, "data": {"reference": made.reference, "pdf": str(made.pdf),
                                     "json": str(made.json), "fee": made.fee,
                                     "nth_this_year": made.nth_this_year}}  # fmt: skip


def consent_trace(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """The lookups a member made citing one consent, and the consent as registered."""
    from exchange.registry import db as registry_db
    from exchange.registry import get_member
    from exchange.registry.consents import registered

    ref = str(params.get("ref") or "").strip()
    if not ref:
        raise InvalidInput("--ref is the consent reference to trace")
    with registry_db.session(settings.registry_url, readonly=True) as db:
        member = get_member(db, str(params["member"])).code
        held = registered(db, member, ref)
    rows = wh.query("consent_trace", member=member, ref=ref).dicts()
    lookups = [
        {"queried_at": r["queried_at"].isoformat(), "product": r["product"],
         "purpose": r["purpose"], "api_key_id": r["api_key_id"], "batch_id": r["batch_id"],
         "inquiry_id": r["inquiry_id"]}
        for r in rows
    ]  # fmt: skip
    state = (
        "not registered" if held is None
        else f"registered {held['registered_at']}, granted {held['granted_on']}"
        + (f", expires {held['expires_on']}" if held["expires_on"] else "")
        + (f", REVOKED {held['revoked_at']}" if held["revoked_at"] else "")
    )  # fmt: skip
    lines = [f"consent {ref!r} of {member}: {state}; {len(lookups)} lookups cited it"]
    lines += [f"  {q['queried_at']}  {q['product']:<12} {q['purpose']:<16} key {q['api_key_id']}"
              for q in lookups]  # fmt: skip
    return {"lines": lines, "data": {"member": member, "consent_ref": ref, "registered": held,
                                     "lookups": lookups}}  # fmt: skip


def warehouse_compact(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Merge the lookups' and batch jobs' tables into one part each (products.compaction), then
    build the day's inquiry summary for batch jobs (products.inquiry_summary): the scheduler runs
    it nightly at ``[warehouse] compact_time``; staff may run it at any time."""
    from products import inquiry_summary
    from products.compaction import compact

    done = compact(wh, progress)
    lines = [
        f"{c.table} ({c.holds}): {c.parts_before} → {c.parts_after} parts, {c.rows_before:,} → "
        f"{c.rows_after:,} rows, {c.seconds:.1f} s"
        for c in done
    ]
    progress("building the inquiry summary")
    summary = inquiry_summary.build(wh)
    lines.append(
        f"inquiry summary through {summary.through:%Y-%m-%d %H:%M} UTC (from {summary.first_day}): "
        f"{summary.borrowers:,} borrowers, "
        + (f"{summary.seconds:.1f} s" if summary.seconds else "already built today")
    )
    data = {"merged": [dataclasses.asdict(c) for c in done],
            "inquiry_summary": dataclasses.asdict(summary)}  # fmt: skip
    return {"lines": lines, "data": _jsonable(data)}


def retention_run(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Purge negative information 5 years after the negative state ended (DOMAIN.md §4): the
    loan states, month-end states and the lookups' copies of them (lookups hide them from that
    day already). ``dry_run``: count only. Idempotent; recorded in the audit chain with counts.
    Published releases are not rewritten. ``today`` (tests, catching up) may only be earlier."""
    from exchange import audit
    from exchange.registry import db as registry_db
    from products.lookups.borrower import retention_cutoff, today_cst

    real = today_cst()
    today = _day(params, "today") or real
    if today > real:
        raise InvalidInput(f"--today {today} is after today ({real}): retention never runs early")
    cutoff = retention_cutoff(today)
    found = wh.query("retention_count", cutoff=cutoff).one()
    states, months = int(found["states"]), int(found["months"])
    what = f"{states:,} loan states and {months:,} month-end states whose negative state ended before {cutoff}"
    if params.get("dry_run"):
        return {"lines": [f"dry run: would purge {what}"],
                "data": {"cutoff": cutoff.isoformat(), "states": states, "months": months,
                         "dry_run": True}}  # fmt: skip
    if states or months:
        progress("purging loan states")
        wh.execute("retention_purge_states", cutoff=cutoff)
        progress("purging the lookups' month rows")
        wh.execute("retention_purge_lookup_months", cutoff=cutoff)
        progress("purging month-end states")
        wh.execute("retention_purge_months", cutoff=cutoff)
    with registry_db.session(settings.registry_url) as db:
        audit.append(db, actor=actor, action="retention.purge", obj="warehouse",
                     details={"cutoff": cutoff.isoformat(), "states": states, "months": months})  # fmt: skip
    return {"lines": [f"purged {what}"],
            "data": {"cutoff": cutoff.isoformat(), "states": states, "months": months,
                     "dry_run": False}}  # fmt: skip


def lab_approve(
    settings: Settings, wh: Any, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Approve an applied lab project: build its de-identified extract from the warehouse, then
    record the approval with the extract's fingerprint (docs/lab.md)."""
    from exchange.registry import db as registry_db
    from exchange.registry import projects
    from sandbox.extract import build
    from sandbox.settings import LabSettings

    project_id = int(params["project"])
    with registry_db.session(settings.registry_url, readonly=True) as db:
        info = projects.check_decidable(db, project_id)
    root = settings.section(LabSettings).projects_dir
    assert root is not None
    extract = build(wh, root / str(project_id), project_id=project_id,
                    first_month=info.first_month, last_month=info.last_month, progress=progress)  # fmt: skip
    if settings.section(LabSettings).isolate:  # the project's users and group, its modes
        from sandbox.isolation import provision

        progress(f"project users and modes of {root / str(project_id)}")
        provision(root / str(project_id), project_id)
    with registry_db.session(settings.registry_url) as db:
        done = projects.approve(db, project_id, actor=actor, extract_sha256=extract.sha256,
                                extract_rows=extract.rows)  # fmt: skip
    lines = [
        f"approved lab project {done.id} ({done.title}) until {done.ends_on}",
        f"extract: {extract.rows:,} account-month rows in {extract.path} (sha256 {extract.sha256})",
        f"analysts: {', '.join(done.analysts)}",
    ]
    return {"lines": lines, "data": _jsonable(done.as_dict())}


def _check_lab_project(params: dict[str, Any]) -> None:
    try:
        int(params.get("project"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"project {params.get('project')!r} is not a project number") from None


def _check_dispute_open(params: dict[str, Any]) -> None:
    for name in ("member", "account_id", "borrower_key", "statement"):
        if not str(params.get(name) or "").strip():
            raise InvalidInput(f"a dispute needs {name.replace('_', ' ')}")
    _day(params, "records_from")
    _day(params, "records_to")


def _check_release_month(params: dict[str, Any]) -> None:
    from reports.months import parse_month

    if params.get("month"):
        parse_month(str(params["month"]))


def _check_audit_month(params: dict[str, Any]) -> None:
    from reports.months import parse_month

    parse_month(str(params.get("month") or ""))


def _check_statement_month(params: dict[str, Any]) -> None:
    month = str(params.get("month"))
    if not _MONTH.match(month):
        raise InvalidInput(f"--month {month!r} is not a month; use YYYY-MM, e.g. 2026-10")


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("dq.show", dq_show),
        Command("warehouse.status", warehouse_status, reads_only=True),
        Command("warehouse.compact", warehouse_compact),
        Command("report.build", report_build, check=_check_release_month),
        Command("report.audit", report_audit, check=_check_audit_month),
        Command("billing.statement", billing_statement, check=_check_statement_month),
        Command("dispute.open", dispute_open, check=_check_dispute_open, hashed=("statement",)),
        Command("dispute.list", dispute_list),
        Command("rights.self_report", self_report),
        Command("consent.trace", consent_trace),
        Command("retention.run", retention_run),
        Command("lab.approve", lab_approve, check=_check_lab_project),
    )
}


def execute(
    settings: Settings, wh: Any, name: str, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Run command ``name`` against ``wh`` (the caller owns it), recorded in the audit chain."""
    from exchange import audit
    from exchange.registry import db as registry_db
    from exchange.registry.errors import RegistryNotInitialised

    command = COMMANDS.get(name)
    if command is None:
        raise UnknownCommand(f"no admin command {name!r}; known: {', '.join(sorted(COMMANDS))}")
    if command.check is not None:
        command.check(params)
    try:
        with registry_db.session(settings.registry_url) as db:
            shown = {
                k: f"sha256:{hashlib.sha256(str(v).encode()).hexdigest()}"
                if k in command.hashed and v
                else v
                for k, v in params.items()
            }
            audit.append(db, actor=actor, action=f"admin.{name.replace('.', '_')}",
                         obj=f"command:{name}", details={"params": shown})  # fmt: skip
    except RegistryNotInitialised:
        if not command.reads_only:
            raise
    return command.run(settings, wh, params, actor, progress)


def run_local(
    settings: Settings, name: str, params: dict[str, Any], actor: str, progress: Progress
) -> Result:
    """Run a command in this process with a warehouse of its own (no server runs)."""
    from runtime.build import open_warehouse

    with open_warehouse(settings) as wh:
        return execute(settings, wh, name, params, actor, progress)
