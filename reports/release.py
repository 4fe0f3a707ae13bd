"""Versioned, immutable releases: ``<releases>/<YYYY-MM>/v<N>/``.

:func:`build` computes the month's statistics, applies disclosure control and seasonal
adjustment, compares with the release it supersedes (:mod:`reports.revisions`) and writes:

    index.html  release.pdf  charts/*.png  tables/*.csv (+ data_dictionary, seasonal, revisions)
    manifest.json  (every file's SHA-256, the audit-chain head, Ed25519 signature)

Invariants:

* A version is never changed. It is staged in a hidden folder and renamed into place; the
  rename fails if another build published the same number first (:class:`ReleaseConflict`).
  Files are made read-only (0444, folders 0555).
* Rebuilding a month makes version N + 1 only when a published figure changed (late or corrected
  data, another rule); otherwise nothing is written and the result says which version stands.
* The audit chain's head is read before building and printed in the release; after the release
  is in place an entry ``release.publish`` records its manifest's SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from exchange.audit import canonical_json
from exchange.settings import Settings
from reports import exclusions, history, manifest
from reports.columns import TABLES
from reports.disclosure import Protection, Rule, protect
from reports.errors import DisclosureAuditFailed, NoData, ReleaseConflict
from reports.months import month_key
from reports.publication import Publication, publish
from reports.render import charts, csvfiles, html, pdf
from reports.revisions import Revision, compare
from reports.settings import ReportSettings
from reports.statistics import QuerySource, compute

_VERSION = re.compile(r"^v(\d+)$")
T = TypeVar("T")


@dataclass(frozen=True)
class ReleaseRef:
    month: str
    version: int
    path: Path

    @property
    def name(self) -> str:
        return f"{self.month} v{self.version}"


@dataclass
class BuildResult:
    month: str
    version: int
    path: Path
    created: bool
    publication: Publication | None = None
    revisions: list[Revision] = field(default_factory=list)
    previous: ReleaseRef | None = None
    timings: dict[str, float] = field(default_factory=dict)


def versions(releases: Path, month: str) -> list[ReleaseRef]:
    """Published versions of ``month``, oldest first (staging folders are ignored)."""
    folder = releases / month
    if not folder.is_dir():
        return []
    found = [
        ReleaseRef(month, int(m.group(1)), p)
        for p in folder.iterdir()
        if p.is_dir() and (m := _VERSION.match(p.name)) and (p / manifest.MANIFEST).exists()
    ]
    return sorted(found, key=lambda r: r.version)


def all_releases(releases: Path) -> list[ReleaseRef]:
    if not releases.is_dir():
        return []
    months = sorted(p.name for p in releases.iterdir() if re.match(r"^\d{4}-\d{2}$", p.name))
    return [ref for month in months for ref in versions(releases, month)]


def superseded(releases: Path, month: str) -> ReleaseRef | None:
    """The release a new version of ``month`` is compared with (see :mod:`reports.revisions`)."""
    same = versions(releases, month)
    if same:
        return same[-1]
    earlier = [r for r in all_releases(releases) if r.month < month]
    return earlier[-1] if earlier else None


def latest_month(wh: QuerySource) -> dt.date:
    """The latest month with account states in the warehouse (the default release month).

    Months with stored rows come from ``report_fingerprints`` (two narrow columns, no FINAL);
    the latest whose rows are not all deleted is checked with ``report_month_counts``.
    """
    stored = wh.query("report_fingerprints", month=dt.date(9999, 12, 1)).dicts()
    for row in reversed(stored):
        month: dt.date = row["month"]
        if wh.query("report_month_counts", first=month, month=month).dicts():
            return month
    raise NoData("the warehouse holds no account states yet: load members' files first")


def figures_digest(
    pub: Publication, decimals: int, excluded: exclusions.Exclusions | None = None
) -> str:
    """SHA-256 of every published table as printed in CSV (and of the records excluded):
    equal digests, equal figures."""
    digest = hashlib.sha256()
    for name in TABLES:
        digest.update(name.encode())
        for row in csvfiles.table_rows(pub, name, decimals):
            digest.update(canonical_json(row).encode())
    for series, adj in pub.seasonal.items():
        digest.update(canonical_json([series, adj.method]).encode())
    if excluded is not None and excluded.months:
        digest.update(canonical_json(excluded.csv_rows(decimals)).encode())
    return digest.hexdigest()


def rule_of(cfg: ReportSettings) -> Rule:
    """The disclosure rule and protection interval the settings ask for."""
    return Rule.of(
        cfg.min_institutions, cfg.max_share, cfg.protection_interval, cfg.top_contributor_interval
    )


def _timed(timings: dict[str, float], stage: str, call: Callable[[], T]) -> T:
    start = time.perf_counter()
    try:
        return call()
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def build(
    settings: Settings,
    wh: QuerySource,
    month: dt.date,
    *,
    actor: str = "cli",
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build the release of ``month`` (first day) from ``wh``; see the module docstring.
    ``progress(stage)`` is told each stage as it begins (streamed to ``jdx report build``)."""

    def step(stage: str, call: Callable[[], T]) -> T:
        if progress is not None:
            progress(stage.strip())
        return _timed(timings, stage, call)

    from exchange import audit
    from exchange.anchor import anchor, anchor_path
    from exchange.keyfiles import load_signing_key
    from exchange.registry import db as registry_db

    cfg = settings.section(ReportSettings)
    assert cfg.releases_dir is not None
    releases, key, decimals = cfg.releases_dir, month_key(month), cfg.decimals
    signing_key = load_signing_key(settings)  # fail early, before minutes of work
    timings: dict[str, float] = {}
    query_times: dict[str, float] = {}
    stats = step("statistics", lambda: compute(wh, month, cfg.series_months, query_times))
    timings.update({f"  {name}": seconds for name, seconds in query_times.items()})
    excluded = step("exclusions", lambda: exclusions.load(wh, stats.first, month))
    rule = rule_of(cfg)
    # every release published so far: its decisions stand (reports.history)
    earlier = step(
        "earlier releases (CSV)",
        lambda: history.load([(r.month, r.path) for r in all_releases(releases)]),
    )
    protection = step("disclosure", lambda: protect(stats, rule, earlier))
    if protection.audit is None or not protection.audit.passed:  # nothing is written then
        failures = protection.audit.failures if protection.audit else []
        raise DisclosureAuditFailed(
            f"the release of {key} fails the attacker's audit: {len(failures)} suppressed "
            "figure(s) can be narrowed inside their protection interval "
            f"({', '.join(f'{c} {n}' for c, n in (i.quantity for i in failures[:5]))}); "
            f"nothing was published — jdx report audit {key} --candidate lists them"
        )
    pub = step(
        "publication + seasonal adjustment",
        lambda: publish(
            stats,
            protection,
            confidence=cfg.confidence,
            x13_path=cfg.x13_path,
            festival=(cfg.festival_before, cfg.festival_after),
        ),
    )
    digest = figures_digest(pub, decimals, excluded)
    previous = superseded(releases, key)
    same_month = versions(releases, key)
    if same_month and manifest.read(same_month[-1].path).get("figures_digest") == digest:
        last = same_month[-1]
        return BuildResult(key, last.version, last.path, False, pub, [], previous, timings)
    revisions = step(
        "revisions",
        lambda: compare(pub, previous.path / "tables", decimals) if previous else [],
    )
    version = (same_month[-1].version + 1) if same_month else 1
    with registry_db.session(settings.registry_url, readonly=True) as db:
        anchored = anchor(db, signing_key, anchor_path(settings.home))  # carried by the release
    head_seq, head_hash = (anchored.seq, anchored.hash) if anchored else (0, audit.GENESIS_HASH)
    created_at = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)

    releases.mkdir(parents=True, exist_ok=True)
    (releases / key).mkdir(exist_ok=True)
    staging = releases / key / f".v{version}.staging-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        files = step(
            "csv",
            lambda: csvfiles.write_tables(
                pub, staging / "tables", decimals, revisions, excluded=excluded
            ),
        )
        drawn = charts.build(pub)
        step("charts (kaleido)", lambda: charts.render(drawn, staging))
        ctx = html.Context(
            version=version,
            published_at=created_at,
            audit_seq=head_seq,
            audit_hash=head_hash,
            previous=previous.name if previous else None,
            revisions=revisions,
            charts=drawn,
            exclusions=excluded,
            files=[
                "release.pdf",
                "tables/" + ", tables/".join(p.name for p in files),
                "charts/*.png",
            ],
        )
        page = step("html", lambda: html.render(pub, ctx, rule, decimals))
        (staging / "index.html").write_text(page, encoding="utf-8")
        step(
            "pdf (weasyprint)",
            lambda: pdf.write_pdf(page, staging, staging / "release.pdf"),
        )
        body = _manifest_body(
            pub, key, version, created_at, digest, previous, (head_seq, head_hash), revisions
        )
        body["disclosure"]["audit"]["releases_read"] = len(earlier.releases)
        body["exclusions"] = excluded.manifest(key)
        body["files"] = manifest.file_entries(staging)
        path = manifest.write(staging, body, signing_key)
        _freeze(staging)
        target = releases / key / f"v{version}"
        try:
            os.rename(staging, target)
        except OSError:
            raise ReleaseConflict(
                f"release {key} v{version} was published by another build meanwhile; run "
                "`jdx report build` again to make the next version"
            ) from None
    except BaseException:
        if staging.exists():
            _thaw(staging)
            shutil.rmtree(staging, ignore_errors=True)
        raise
    with registry_db.session(settings.registry_url) as db:
        audit.append(
            db,
            actor=actor,
            action="release.publish",
            obj=f"release:{key}/v{version}",
            details={
                "manifest_sha256": manifest.sha256_file(target / path.name),
                "figures_digest": digest,
                "previous": previous.name if previous else None,
                "revisions": len(revisions),
                "suppressed": protection.primary + protection.secondary,
            },
        )
    return BuildResult(key, version, target, True, pub, revisions, previous, timings)


def _manifest_body(
    pub: Publication,
    key: str,
    version: int,
    created_at: dt.datetime,
    digest: str,
    previous: ReleaseRef | None,
    head: tuple[int, str],
    revisions: list[Revision],
) -> dict[str, Any]:
    protection = pub.protection
    row = pub.row("headline", month=key) or {}
    headline = {
        name: (None if row.get("flag") else csvfiles.csv_value(row.get(name), "pct", 2))
        for name in (
            "rate_30_accounts_pct",
            "rate_30_balance_pct",
            "rate_90_accounts_pct",
            "rate_90_balance_pct",
        )
    }
    return {
        "format": manifest.FORMAT,
        "month": key,
        "version": version,
        "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data_as_of": str(pub.stats.as_of),
        "series": [month_key(pub.stats.first), key],
        "institutions": pub.stats.members,
        "figures_digest": digest,
        "previous": previous.name if previous else None,
        "revisions": len(revisions),
        "audit_head": {"seq": head[0], "hash": head[1]},
        "headline": headline,
        "disclosure": {
            "min_institutions": protection.rule.min_institutions,
            "max_share": str(protection.rule.max_share),
            "cells": len(protection.status),
            "suppressed_primary": protection.primary,
            "suppressed_secondary": protection.secondary,
            "audit": _audit_body(protection),
        },
        "seasonal": {series: adj.method for series, adj in pub.seasonal.items()},
    }


def _audit_body(protection: Protection) -> dict[str, Any]:
    """The attacker's audit as the manifest states it: no interval, since an interval's width
    relative to the value would tell the value."""
    audit = protection.audit
    return {
        "protection_level": str(protection.rule.level),
        "top_contributor_level": str(protection.rule.top_level),
        "quantities": len(audit.intervals) if audit else 0,
        "passed": audit.passed if audit else None,
    }


def _freeze(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)


def _thaw(folder: Path) -> None:
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
