"""The HTML page of a release (``index.html``), also the source of the PDF.

Jinja2 with autoescaping renders ``reports/templates/release.html.j2``. This module prepares
plain structures for the template — sections of tables whose cells are already printed text
(:func:`reports.render.fmt.cell_text`: ``x`` for every figure of a suppressed row) — so the
template holds layout only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2

from reports.columns import TABLES
from reports.disclosure import Rule
from reports.exclusions import FAMILIES, Exclusions
from reports.labels import BUCKETS, DIMENSION_LABELS, DIMENSIONS, STATE_LABELS, STATES
from reports.publication import Publication
from reports.render.charts import Chart
from reports.render.fmt import SUPPRESSED_MARK, cell_text, html_value
from reports.revisions import Revision

HTML_MONTHS = 13  # months of the series printed in HTML/PDF tables (all are in the CSV)


@dataclass
class HtmlTable:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric_from: int = 1


@dataclass
class Context:
    """Everything the template prints besides the publication's own tables."""

    version: int
    published_at: dt.datetime
    audit_seq: int
    audit_hash: str
    previous: str | None
    revisions: list[Revision]
    charts: list[Chart]
    files: list[str] = field(default_factory=list)
    #: the records rejected in the series' months (``None``: not stated, e.g. hand-made data)
    exclusions: Exclusions | None = None


def _table(
    pub: Publication,
    name: str,
    columns: list[str],
    decimals: int,
    rows: list[dict[str, Any]] | None = None,
    title: str = "",
    note: str = "",
    first: int = 1,
) -> HtmlTable:
    spec = TABLES[name]
    picked = [spec.column(c) for c in columns]
    body = [
        [cell_text(row, c.name, c.kind, decimals) for c in picked]
        for row in (pub.tables[name].rows if rows is None else rows)
    ]
    header = [f"{c.zh}<br>{c.en}" for c in picked]
    return HtmlTable(title or f"{spec.title.zh}　{spec.title.en}", header, body, note, first)


def sections(pub: Publication, decimals: int) -> list[HtmlTable]:
    """The tables printed in the release, in order."""
    rate_cols = [
        "rate_30_accounts_pct",
        "rate_30_balance_pct",
        "rate_90_accounts_pct",
        "rate_90_balance_pct",
    ]
    head = pub.tables["headline"].rows[-HTML_MONTHS:]
    out = [
        _table(
            pub,
            "headline",
            [
                "month",
                "open_accounts",
                "open_balance_cny",
                *rate_cols,
                "rate_30_accounts_sa_pct",
                "rate_90_accounts_sa_pct",
            ],
            decimals,
            head,
        ),
        _table(
            pub,
            "headline",
            [
                "month",
                "rate_30_accounts_pct",
                "rate_30_accounts_low_pct",
                "rate_30_accounts_high_pct",
                "rate_90_accounts_pct",
                "rate_90_accounts_low_pct",
                "rate_90_accounts_high_pct",
            ],
            decimals,
            head,
            title=f"置信区间　Wilson {pub.confidence:.0%} intervals of count-based rates",
        ),
        _table(
            pub,
            "buckets",
            [
                "label_zh",
                "label_en",
                "accounts",
                "balance_cny",
                "share_accounts_pct",
                "share_balance_pct",
            ],
            decimals,
            first=2,
        ),
    ]
    for dimension in DIMENSIONS:
        rows = [r for r in pub.tables["segments"].rows if r["dimension"] == dimension]
        if rows:
            dim = DIMENSION_LABELS[dimension]
            out.append(
                _table(
                    pub,
                    "segments",
                    ["label_zh", "label_en", "open_accounts", "open_balance_cny", *rate_cols],
                    decimals,
                    rows,
                    title=f"{dim.zh}　{dim.en}",
                    first=2,
                )
            )
    out.append(
        _table(
            pub,
            "multiborrowing",
            ["month", "active_borrowers", "share_3_plus_pct", "share_5_plus_pct"],
            decimals,
            pub.tables["multiborrowing"].rows[-HTML_MONTHS:],
        )
    )
    out.append(
        _table(
            pub,
            "lenders",
            ["label_zh", "label_en", "borrowers", "open_accounts", *rate_cols],
            decimals,
            first=2,
        )
    )
    out.append(_rollrate_grid(pub, decimals))
    flows = pub.tables["flows"].rows
    recent = sorted({r["month"] for r in flows})[-HTML_MONTHS:]
    rows = [r for r in flows if r["month"] in recent]
    out.append(
        _table(
            pub,
            "flows",
            [
                "month",
                "label_zh",
                "label_en",
                "base_accounts",
                "rate_accounts_pct",
                "rate_balance_pct",
            ],
            decimals,
            rows,
            first=3,
        )
    )
    out.append(_vintage_grid(pub, decimals))
    return out


def _rollrate_grid(pub: Publication, decimals: int) -> HtmlTable:
    rows = pub.tables["rollrates"].rows
    starts = [b for b in BUCKETS if any(r["from_bucket"] == b for r in rows)]
    body = []
    for start in starts:
        line = [f"{STATE_LABELS[start].zh}<br>{STATE_LABELS[start].en}"]
        for state in STATES:
            row = next(r for r in rows if r["from_bucket"] == start and r["to_state"] == state)
            line.append(cell_text(row, "rate_accounts_pct", "pct", decimals))
        body.append(line)
    header = ["上月 \\ 本月<br>from \\ to"] + [
        f"{STATE_LABELS[s].zh}<br>{STATE_LABELS[s].en}" for s in STATES
    ]
    spec = TABLES["rollrates"].title
    return HtmlTable(
        f"{spec.zh}　{spec.en}", header, body, "% of the row's accounts 占上月该段账户的百分比"
    )


def _vintage_grid(pub: Publication, decimals: int) -> HtmlTable:
    rows = pub.tables["vintage"].rows
    cohorts = sorted({r["cohort"] for r in rows})[-8:]
    mobs = sorted({r["months_on_book"] for r in rows if r["cohort"] in cohorts})
    body = []
    for cohort in cohorts:
        line = [cohort]
        for mob in mobs:
            row = next(
                (r for r in rows if r["cohort"] == cohort and r["months_on_book"] == mob), None
            )
            line.append(
                "" if row is None else cell_text(row, "ever_30_accounts_pct", "pct", decimals)
            )
        body.append(line)
    spec = TABLES["vintage"].title
    return HtmlTable(
        f"{spec.zh}　{spec.en}",
        ["季度<br>cohort", *[str(m) for m in mobs]],
        body,
        "ever 30+ dpd, % of accounts opened, by months on book 曾逾期30天以上账户占比（按账龄月数）",
    )


def headline_text(pub: Publication, decimals: int) -> tuple[str, str]:
    """The headline sentence, English and Chinese (or why there is none)."""
    row = pub.row("headline", month=pub.stats.key)
    if row is None or row.get("flag"):
        return (
            "The industry figures of this month do not meet the disclosure rule and are not published.",
            "本月全行业数据未满足披露规则，不予公布。",
        )
    v = {k: html_value(row.get(k), "pct", decimals) for k in row if k.endswith("_pct")}
    sa = row.get("rate_30_accounts_sa_pct")
    sa_en = f" ({html_value(sa, 'est', decimals)} % seasonally adjusted)" if sa is not None else ""
    sa_zh = f"（季节调整后{html_value(sa, 'est', decimals)}%）" if sa is not None else ""
    return (
        f"{v['rate_30_accounts_pct']} % of open accounts were 30 or more days past due at the end "
        f"of {pub.stats.key}{sa_en}, holding {v['rate_30_balance_pct']} % of the open balance; "
        f"{v['rate_90_accounts_pct']} % were 90 or more days past due.",
        f"{pub.stats.key}月末，逾期30天以上账户占在贷账户的{v['rate_30_accounts_pct']}%{sa_zh}，"
        f"余额占比{v['rate_30_balance_pct']}%；逾期90天以上账户占比{v['rate_90_accounts_pct']}%。",
    )


def render(pub: Publication, ctx: Context, rule: Rule, decimals: int) -> str:
    root = resources.files("reports") / "templates"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["br"] = lambda text: jinja2.filters.Markup(
        "<br>".join(jinja2.filters.escape(part) for part in str(text).split("<br>"))
    )
    css = (root / "release.css").read_text(encoding="utf-8")
    en, zh = headline_text(pub, decimals)
    by_table = pub.protection.by_table()
    return env.get_template("release.html.j2").render(
        excluded=_excluded(pub, ctx.exclusions, decimals),
        pub=pub,
        ctx=ctx,
        rule=rule,
        css=css,
        headline_en=en,
        headline_zh=zh,
        sections=sections(pub, decimals),
        suppressed_by_table=sorted(by_table.items()),
        cells=sum(n for n, _ in by_table.values()),
        mark=SUPPRESSED_MARK,
        # the NSA rates and their denominators; SA values and interval limits are in the CSV
        headline_revisions=[
            r
            for r in ctx.revisions
            if r.table == "headline" and not r.column.endswith(("_sa_pct", "_low_pct", "_high_pct"))
        ],
    )


def _excluded(
    pub: Publication, excluded: Exclusions | None, decimals: int
) -> dict[str, Any] | None:
    """The release month's and the series' rejected records, as the page states them."""
    if excluded is None:
        return None

    def view(m: Any) -> dict[str, Any]:
        share = m.share
        return {
            "records": f"{m.records:,}",
            "rejected": f"{m.rejected:,}",
            "share": "–" if share is None else html_value(share, "pct", decimals),
            "families": [(en, zh, f"{m.families.get(p, 0):,}") for p, (en, zh) in FAMILIES.items()],
        }

    return {"month": view(excluded.of(pub.stats.key)), "series": view(excluded.total())}
