"""Dynamics page: the roll-rate matrix of the release month (by count and by balance), flows
into 30+/90+ and cures over the series, and vintage curves by origination quarter."""

from __future__ import annotations

from typing import Any

from dashboards import charts
from dashboards.charts import Series
from dashboards.pages.common import Page, chart
from reports.columns import FLOW_LABELS, TABLES
from reports.labels import BUCKETS, STATES


def layout(page: Page) -> list[Any]:
    return [*_rollrates(page), _flows(page), *_vintage(page)]


def _title(page: Page, table: str) -> str:
    title = TABLES[table].title
    return title.zh if page.lang == "zh" else title.en


def _by_group(revised: dict[str, set[str]]) -> dict[str, set[str]]:
    """Revision keys ``a/b`` of ``column`` → ``{"b:column": {a}}`` (flows: month/kind) or, for
    vintage keys ``cohort/months``, ``{"cohort:column": {months}}``."""
    out: dict[str, set[str]] = {}
    for column, keys in revised.items():
        for key in keys:
            first, _, second = key.partition("/")
            if first[:4].isdigit() and "-Q" in first:  # vintage: cohort/months_on_book
                out.setdefault(f"{first}:{column}", set()).add(second)
            else:  # flows: month/kind
                out.setdefault(f"{second}:{column}", set()).add(first)
    return out


def _rollrates(page: Page) -> list[Any]:
    rows = page.table("rollrates")
    present = {r["to_state"] for r in rows}
    to_keys = [s for s in STATES if s in present]
    from_keys = [b for b in BUCKETS if any(r["from_bucket"] == b for r in rows)]
    names = {r["from_bucket"]: page.label(r, "from_en", "from_zh") for r in rows}
    to_names = {r["to_state"]: page.label(r, "to_en", "to_zh") for r in rows}
    hidden = [
        f"{names[r['from_bucket']]} → {to_names[r['to_state']]}" for r in rows if r.get("flag")
    ]
    out = []
    for measure, column in (("by_count", "rate_accounts_pct"), ("by_balance", "rate_balance_pct")):
        out.append(
            chart(
                page,
                f"rollrates-{column.split('_')[1]}",
                f"{_title(page, 'rollrates')} ({page.release.month}, {page.t(measure)})",
                charts.heatmap(
                    rows,
                    column,
                    from_keys,
                    to_keys,
                    [names[k] for k in from_keys],
                    [to_names[k] for k in to_keys],
                    x_title=page.t("to"),
                    y_title=page.t("from"),
                    revised=page.revised("rollrates").get(column, set()),
                    revised_name=page.t("revised"),
                ),
                page.t("rollrates"),
                hidden,
                page.download("rollrates"),
            )
        )
    return out


def _flows(page: Page) -> Any:
    rows = page.table("flows")
    months = sorted({r["month"] for r in rows})
    by_key = {(r["month"], r["kind"]): r for r in rows}
    # one row per month; each kind's columns under "<kind>:<column>"
    wide = []
    for month in months:
        row: dict[str, str] = {"month": month}
        for kind in FLOW_LABELS:
            src = by_key.get((month, kind), {"flag": "x"})
            for name, value in src.items():
                row[f"{kind}:{name}"] = value if not src.get("flag") else ""
        wide.append(row)
    series = []
    for kind, label in FLOW_LABELS.items():
        name = label.zh if page.lang == "zh" else label.en
        series.append(
            Series(f"{kind}:rate_accounts_pct", f"{name} ({page.t('by_count')})", interval=True)
        )
        series.append(
            Series(f"{kind}:rate_balance_pct", f"{name} ({page.t('by_balance')})", dashed=True)
        )
    hidden = [f"{r['month']} {page.label(r)}" for r in rows if r.get("flag")]
    return chart(
        page,
        "flows",
        _title(page, "flows"),
        charts.lines(
            wide,
            "month",
            series,
            y_title=page.t("rate_pct"),
            x_title=page.t("month"),
            revised=_by_group(page.revised("flows")),
            revised_name=page.t("revised"),
        ),
        page.t("flows"),
        hidden,
        page.download("flows"),
    )


def _vintage(page: Page) -> list[Any]:
    # rows carry each value under "<cohort>:<column>" too, so a curve is one Series
    rows = [{**r, **{f"{r['cohort']}:{k}": v for k, v in r.items()}} for r in page.table("vintage")]
    revised = _by_group(page.revised("vintage"))  # "<cohort>:<column>" → months on book
    cohorts = sorted({r["cohort"] for r in rows})
    out = []
    for days in ("30", "90"):
        column = f"ever_{days}_accounts_pct"
        figure = charts.lines(
            [], "months_on_book", [], y_title=page.t("rate_pct"),
            x_title=page.t("months_on_book"), categorical=False,
        )  # fmt: skip
        for i, cohort in enumerate(cohorts):  # one curve per cohort, x = months on book
            mine = sorted(
                (r for r in rows if r["cohort"] == cohort), key=lambda r: int(r["months_on_book"])
            )
            curve = charts.lines(
                mine, "months_on_book", [Series(f"{cohort}:{column}", cohort)],
                y_title="", categorical=False, revised=revised, revised_name=page.t("revised"),
            )["data"]  # fmt: skip
            curve[0]["line"]["color"] = charts.PALETTE[i % len(charts.PALETTE)]
            figure["data"].extend(curve)
        spec = TABLES["vintage"].column(column)
        out.append(
            chart(
                page,
                f"vintage-{days}",
                f"{_title(page, 'vintage')}: {spec.zh if page.lang == 'zh' else spec.en}",
                figure,
                page.t("vintage"),
                sorted({f"{page.t('cohort')} {r['cohort']}" for r in rows if r.get("flag")}),
                page.download("vintage"),
            )
        )
    return out
