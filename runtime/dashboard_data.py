"""The member portal's and operations console's data: :class:`dashboards.data.ExchangeData` over
the services of ``jdx serve``.

The dashboards may not import the warehouse, ingest or products (docs/design.md); this module,
in the composition root, answers their questions with those services and the registry:

* registry (exchange): submissions, keys, members, suspension — each act audited with the user;
* warehouse through the stages' own readers: ``ingest.dq`` (scores, lift), ``products.billing``
  (usage, statements), the named queries ``portal_rejections`` and ``console_lookups``
  (small aggregates; nothing reads raw loan records);
* the API's :class:`products.meter.LookupMeter` (refusals and latency per minute, kept in the
  warehouse's ``lookup_outcomes`` and read with what it still holds in memory);
* a release build runs :func:`runtime.commands.execute` (``report.build``, the command ``jdx report
  build`` sends over the admin channel) on a thread of the server, audited with the staff user.

Scores of every member (the industry distribution, the league table) are computed at start
(:meth:`RuntimeData.warm`) and then refreshed in the background at most once a minute, shared by
every page: no page waits for 40 members' scores.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from typing import Any

from dashboards.data import (
    FilesGrid,
    Job,
    Key,
    MemberRow,
    NotYours,
    Quality,
    Refused,
    Rejections,
    Submission,
)
from exchange import registry
from exchange.domain import MemberStatus
from exchange.errors import JdxError
from exchange.registry import db as registry_db
from exchange.registry.common import check_code
from exchange.registry.submissions import list_submissions
from exchange.settings import Settings
from ingest.areas import RECEIPT_SUFFIX, base_name
from ingest.settings import IngestSettings
from products.settings import ApiSettings

log = logging.getLogger("jdx.dashboards")
CST = dt.timezone(dt.timedelta(hours=8))
SCORES_TTL = 60.0


def today() -> dt.date:
    return dt.datetime.now(CST).date()


def _utc(value: dt.datetime) -> dt.datetime:
    """The registry's instants are UTC (SQLite gives them without a zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _from_ts(day: dt.date) -> str:
    start = dt.datetime.combine(day, dt.time(), CST).astimezone(dt.UTC)
    return start.strftime("%Y-%m-%d %H:%M:%S")


class RuntimeData:
    """:class:`dashboards.data.ExchangeData` for the process that owns the warehouse."""

    def __init__(self, settings: Settings, wh: Any, meter: Any | None = None) -> None:
        self.settings = settings
        self.wh = wh
        self.meter = meter
        self.url = settings.registry_url
        self._scores: dict[int, tuple[float, dict[str, float | None]]] = {}
        self._refreshing: set[int] = set()
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    # ---- the member portal ------------------------------------------------------------------

    def submissions(self, member: str, limit: int = 50) -> list[Submission]:
        with registry_db.session(self.url, readonly=True) as db:
            rows = list_submissions(db, member, limit=limit)
        outbox = self._outbox(member)
        names = {p.name for p in outbox.glob(f"*{RECEIPT_SUFFIX}")} if outbox.is_dir() else set()
        return [
            Submission(
                r.load_id,
                r.file_name,
                r.status.value,
                r.received_at,
                r.as_of,
                r.records,
                r.accepted,
                r.rejected,
                r.warnings,
                r.dq_score,
                any(n.startswith(base_name(r.file_name) + ".") for n in names),
            )
            for r in rows
        ]

    def _outbox(self, member: str) -> Any:
        root = self.settings.section(IngestSettings).members_root
        assert root is not None
        return root / check_code(member) / "outbox"

    def receipt(self, member: str, load_id: str) -> bytes:
        with registry_db.session(self.url, readonly=True) as db:
            mine = {s.load_id: s for s in list_submissions(db, member, limit=100_000)}
        sub = mine.get(str(load_id))
        if sub is None:
            raise NotYours(f"no submission {load_id!r} of {member}")
        outbox = self._outbox(member)
        for path in sorted(outbox.glob(f"{base_name(sub.file_name)}*{RECEIPT_SUFFIX}")):
            raw = path.read_bytes()
            try:
                if json.loads(raw).get("load_id") == sub.load_id:
                    return raw
            except ValueError:
                continue
        raise Refused(f"the receipt of {sub.file_name} is no longer in the outbox")

    def rejections(self, member: str, days: int) -> Rejections:
        from ingest.rules import RULES

        since = today() - dt.timedelta(days=days - 1)
        rows = self.wh.query("portal_rejections", member=member, from_ts=_from_ts(since)).dicts()
        by_rule: dict[str, dict[str, Any]] = {}
        by_field: dict[str, int] = {}
        per_day: dict[tuple[dt.date, str], int] = {}
        for r in rows:
            code, n = str(r["code"]), int(r["records"])
            rule = by_rule.setdefault(
                code,
                {
                    "code": code,
                    "severity": r["severity"],
                    "name": RULES[code].name if code in RULES else "",
                    "records": 0,
                },
            )
            rule["records"] += n
            name = str(r["field"]) or "(record)"
            by_field[name] = by_field.get(name, 0) + n
            per_day[(r["day"], code)] = per_day.get((r["day"], code), 0) + n
        return Rejections(
            since,
            sorted(by_rule.values(), key=lambda x: (-x["records"], x["code"])),
            [{"field": f, "records": n} for f, n in sorted(by_field.items(), key=lambda x: -x[1])],
            [{"day": d, "code": c, "records": n} for (d, c), n in sorted(per_day.items())],
        )

    def _compute_scores(self, days: int) -> dict[str, float | None]:
        from ingest import dq

        since = today() - dt.timedelta(days=days)
        with registry_db.session(self.url, readonly=True) as db:
            codes = [m.code for m in registry.list_members(db)]
        scores = {code: dq.member_score(self.wh, code, since) for code in codes}
        with self._lock:
            self._scores[days] = (time.monotonic(), scores)
            self._refreshing.discard(days)
        return scores

    def _all_scores(self, days: int) -> dict[str, float | None]:
        """Every member's DQ score over ``days``: computed once, then served from memory and
        refreshed in the background when older than a minute (pages never wait for it again)."""
        with self._lock:
            held = self._scores.get(days)
            stale = held is not None and time.monotonic() - held[0] > SCORES_TTL
            if stale and days not in self._refreshing:
                self._refreshing.add(days)
                threading.Thread(target=self._compute_scores, args=(days,), daemon=True,
                                 name="jdx-dq-scores").start()  # fmt: skip
        return held[1] if held is not None else self._compute_scores(days)

    def warm(self, *windows: int) -> None:
        """Compute the scores of these windows on a thread now (``jdx serve`` at start)."""

        def run() -> None:
            for days in windows:
                try:
                    self._compute_scores(days)
                except Exception as exc:  # the first page to ask computes them itself then
                    log.warning("DQ scores of %d days not computed at start: %s", days, exc)

        threading.Thread(target=run, daemon=True, name="jdx-dq-warm").start()

    def quality(self, member: str, days: int) -> Quality:
        from ingest import dq

        until = today()
        report = dq.member_report(self.wh, member, until - dt.timedelta(days=days))
        threshold = self.settings.section(IngestSettings).dq_threshold
        doc = dq.report_doc(report, threshold=threshold, until=until)
        industry = [s for s in self._all_scores(days).values() if s is not None]
        return Quality(doc, sorted(industry))

    def usage(self, member: str, days: int) -> list[dict[str, Any]]:
        from products import billing

        last = today()
        return billing.usage(self.wh, member, last - dt.timedelta(days=days - 1), last)

    def _prices(self) -> Any:
        from products import billing

        return billing.load_prices(self.settings.section(ApiSettings).price_list)

    def statements(self, member: str, months: int) -> list[dict[str, Any]]:
        from products import billing

        prices = self._prices()
        with registry_db.session(self.url, readonly=True) as db:
            name = registry.get_member(db, member).name
        out, month = [], today().replace(day=1)
        for _ in range(months):
            label = f"{month:%Y-%m}"
            s = billing.statement(self.wh, member, name, label, prices)
            units = sum(int(x["units"]) for x in s.lines)
            out.append(
                {
                    "month": label,
                    "units": units,
                    "total": f"{s.total:.2f}",
                    "currency": prices.currency,
                }
            )
            month = (month - dt.timedelta(days=1)).replace(day=1)
        return out

    def statement_file(self, member: str, month: str, fmt: str) -> bytes:
        from products import billing

        with registry_db.session(self.url, readonly=True) as db:
            name = registry.get_member(db, member).name
        s = billing.statement(self.wh, member, name, month, self._prices())
        return billing.to_csv(s).encode("utf-8") if fmt == "csv" else billing.to_pdf(s)

    def keys(self, member: str) -> list[Key]:
        with registry_db.session(self.url, readonly=True) as db:
            api = registry.list_api_keys(db, member)
            ssh = registry.list_ssh_keys(db, member)
        return [
            Key(
                "api",
                k.key_id,
                ", ".join(sorted(p.value for p in k.products))
                + (f" · {k.label}" if k.label else ""),
                k.created_at,
                k.revoked_at,
            )
            for k in api
        ] + [
            Key(
                "ssh",
                k.fingerprint,
                k.key_type + (f" · {k.comment}" if k.comment else ""),
                k.added_at,
                k.removed_at,
            )
            for k in ssh
        ]

    def issue_api_key(
        self, member: str, products: list[str], label: str, actor: str
    ) -> tuple[str, str]:
        try:
            with registry_db.session(self.url) as db:
                return registry.issue_api_key(db, member, products, label or None, actor=actor)
        except JdxError as exc:
            raise Refused(str(exc)) from None

    def revoke_api_key(self, member: str, key_id: str, actor: str) -> None:
        with registry_db.session(self.url) as db:
            mine = {k.key_id: k for k in registry.list_api_keys(db, member)}
            if str(key_id) not in mine:
                raise NotYours(f"API key {key_id!r} is not one of {member}'s")
            if mine[str(key_id)].revoked_at is not None:
                raise Refused(f"API key {key_id} was revoked already")
            registry.revoke_api_key(db, str(key_id), actor=actor)

    def add_ssh_key(self, member: str, public_key: str, actor: str) -> str:
        try:
            with registry_db.session(self.url) as db:
                return registry.add_ssh_key(db, member, public_key, actor=actor)
        except JdxError as exc:
            raise Refused(str(exc)) from None

    def remove_ssh_key(self, member: str, fingerprint: str, actor: str) -> None:
        with registry_db.session(self.url) as db:
            mine = {k.fingerprint for k in registry.list_ssh_keys(db, member)}
            if str(fingerprint) not in mine:
                raise NotYours(f"SSH key {fingerprint!r} is not an active key of {member}")
            registry.remove_ssh_key(db, str(fingerprint), actor=actor, code=member)

    # ---- the operations console -------------------------------------------------------------

    def files(self, days: int) -> FilesGrid:
        timely = self.settings.section(IngestSettings).timely_days
        with registry_db.session(self.url, readonly=True) as db:
            members = registry.list_members(db)
            subs = list_submissions(db, limit=20_000)
        reported = [s.as_of for s in subs if s.as_of is not None]
        last = max(reported) if reported else today()
        first = last - dt.timedelta(days=days - 1)
        span = [first + dt.timedelta(days=i) for i in range(days)]
        counts: dict[tuple[str, dt.date], int] = {}
        late: set[tuple[str, dt.date]] = set()
        for s in subs:
            if s.as_of is None or s.as_of < first or s.status.value in ("duplicate", "rejected"):
                continue
            counts[(s.member_code, s.as_of)] = counts.get((s.member_code, s.as_of), 0) + 1
            received = _utc(s.received_at).astimezone(CST).date()
            if received > s.as_of + dt.timedelta(days=timely):
                late.add((s.member_code, s.as_of))
        codes = [m.code for m in members if m.status is MemberStatus.ACTIVE]
        cells = {
            (c, d): ("late" if (c, d) in late else "ok") if (c, d) in counts else "missing"
            for c in codes
            for d in span
        }
        return FilesGrid(span, codes, cells, counts, timely)

    def rejection_rates(self, days: int) -> list[dict[str, Any]]:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        with registry_db.session(self.url, readonly=True) as db:
            subs = list_submissions(db, limit=20_000)
            members = [m.code for m in registry.list_members(db)]
        out: dict[str, dict[str, Any]] = {
            c: {"member": c, "files": 0, "records": 0, "rejected": 0} for c in members
        }
        for s in subs:
            if (
                _utc(s.received_at) < since
                or s.status.value == "duplicate"
                or s.member_code not in out
            ):
                continue
            row = out[s.member_code]
            row["files"] += 1
            row["records"] += s.records
            row["rejected"] += s.rejected
        for row in out.values():
            row["rate"] = row["rejected"] / row["records"] if row["records"] else None
        return sorted(out.values(), key=lambda r: (-(r["rate"] or 0), r["member"]))

    def dq_league(self, days: int) -> list[dict[str, Any]]:
        scores = self._all_scores(days)
        ranked = sorted(scores.items(), key=lambda x: (x[1] is None, -(x[1] or 0), x[0]))
        return [
            {"rank": i + 1 if s is not None else None, "member": c, "score": s}
            for i, (c, s) in enumerate(ranked)
        ]

    def lookups(self, days: int) -> dict[str, Any]:
        from products.meter import quantile

        since = today() - dt.timedelta(days=days - 1)
        rows = self.wh.query("console_lookups", from_day=since).dicts()
        if self.meter is None:
            return {"since": since, "daily": rows, "meter": None, "members": []}
        start = dt.datetime.combine(since, dt.time(), CST)
        outcomes = self.meter.outcomes(start)

        def summary(picked: list[dict[str, Any]]) -> dict[str, Any]:
            refused: dict[str, int] = {}
            buckets: list[int] = []
            for r in picked:
                if 400 <= r["status"] < 500:
                    label = f"{r['code'] or 'HTTP'} ({r['status']})"
                    refused[label] = refused.get(label, 0) + r["requests"]
                buckets = [a + b for a, b in zip(buckets or [0] * len(r["buckets"]),
                                                 r["buckets"], strict=True)]  # fmt: skip
            return {
                "requests": sum(r["requests"] for r in picked),
                "answered": sum(r["requests"] for r in picked if r["status"] < 400),
                "refused": refused,
                "failed": sum(r["requests"] for r in picked if r["status"] >= 500),
                "p50_ms": quantile(buckets, 0.5),
                "p95_ms": quantile(buckets, 0.95),
            }

        members = sorted({r["member_code"] for r in outcomes})
        meter = {"since": start.timestamp(), **summary(outcomes)}
        per_member = [
            {"member": m, **summary([r for r in outcomes if r["member_code"] == m])}
            for m in members
        ]  # fmt: skip
        return {"since": since, "daily": rows, "meter": meter, "members": per_member}

    def members(self) -> list[MemberRow]:
        with registry_db.session(self.url, readonly=True) as db:
            found = registry.list_members(db)
        return [
            MemberRow(m.code, m.name, m.type.value, m.status.value, m.status_reason) for m in found
        ]

    def suspend(self, code: str, reason: str, actor: str) -> None:
        try:
            with registry_db.session(self.url) as db:
                registry.suspend_member(db, code, reason, actor=actor)
        except JdxError as exc:
            raise Refused(str(exc)) from None

    def reinstate(self, code: str, actor: str) -> None:
        try:
            with registry_db.session(self.url) as db:
                registry.reinstate_member(db, code, actor=actor)
        except JdxError as exc:
            raise Refused(str(exc)) from None

    def start_build(self, month: str | None, actor: str) -> Job:
        from runtime.commands import execute

        with self._lock:
            for job in self._jobs.values():
                if job.state == "running":
                    return job
            job = Job(uuid.uuid4().hex, f"report.build {month or '(latest month)'}", actor)
            self._jobs[job.id] = job

        def run() -> None:
            try:
                result = execute(
                    self.settings,
                    self.wh,
                    "report.build",
                    {"month": month} if month else {},
                    actor,
                    job.lines.append,
                )
                job.lines.extend(result.get("lines", []))
                job.state = "done"
            except Exception as exc:  # shown to the staff user; the server goes on
                job.lines.append(f"failed: {getattr(exc, 'code', type(exc).__name__)}: {exc}")
                job.state = "failed"

        threading.Thread(target=run, name=f"jdx-build-{job.id[:8]}", daemon=True).start()
        return job

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(str(job_id))
