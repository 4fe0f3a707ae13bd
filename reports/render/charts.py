"""The charts of a release: plotly figures drawn from the published rows, rendered to PNG by
kaleido (headless Chromium, found at ``/usr/bin/chromium`` on Debian).

Charts read only :class:`~reports.publication.Publication` rows, so a suppressed figure leaves a
gap, never a point. A chart with no published point is not drawn (the release says so). Titles
and axis labels are bilingual and set in Noto Sans CJK (Debian ``fonts-noto-cjk``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from reports.errors import RenderError
from reports.labels import BUCKETS, DIMENSION_LABELS, STATES, Label
from reports.publication import Publication

log = logging.getLogger("jdx.reports")

FONT = "Noto Sans CJK SC, Noto Sans, sans-serif"
#: trace colours (a test looks for them in the rendered images: charts must carry data)
PALETTE = ("#1f4e79", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#7f8c8d")
WIDTH, HEIGHT, SCALE = 960, 420, 1.5


@dataclass(frozen=True)
class Chart:
    name: str
    title: Label
    figure: go.Figure

    @property
    def file(self) -> str:
        return f"charts/{self.name}.png"


def _pct(value: Any) -> float | None:
    return None if value is None else float(Fraction(value)) * 100


def _layout(fig: go.Figure, title: Label, y_title: str, x_title: str = "") -> go.Figure:
    fig.update_layout(
        title={"text": f"{title.zh}　{title.en}", "x": 0.01, "font": {"size": 17}},
        font={"family": FONT, "size": 12, "color": "#222"},
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 70, "r": 20, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.18},
        yaxis={"title": y_title, "gridcolor": "#e5e5e5", "zerolinecolor": "#bbb"},
        xaxis={"title": x_title, "gridcolor": "#f0f0f0"},
    )
    return fig


def _lines(
    x: list[Any], series: Iterable[tuple[str, list[float | None], bool]], title: Label, y: str
) -> go.Figure | None:
    fig = go.Figure()
    drawn = False
    for i, (name, values, dashed) in enumerate(series):
        if all(v is None for v in values):
            continue
        drawn = True
        fig.add_trace(
            go.Scatter(
                x=x,
                y=values,
                name=name,
                mode="lines+markers" if len(x) < 30 else "lines",
                line={
                    "color": PALETTE[i % len(PALETTE)],
                    "width": 2.5,
                    "dash": "dash" if dashed else "solid",
                },
                connectgaps=False,
            )
        )
    return _layout(fig, title, y) if drawn else None


def build(pub: Publication) -> list[Chart]:
    """Every chart of the release that has at least one published point."""
    charts: list[tuple[str, Label, go.Figure | None]] = []
    head = pub.tables["headline"].rows
    months = [r["month"] for r in head]
    for basis, en, zh in (
        ("accounts", "% of open accounts", "占在贷账户"),
        ("balance", "% of open balance", "占在贷余额"),
    ):
        series = []
        for days in ("30", "90"):
            stem = f"rate_{days}_{basis}"
            series.append(
                (f"{days}+ dpd 逾期{days}天以上", [_pct(r.get(f"{stem}_pct")) for r in head], False)
            )
            series.append((f"{days}+ SA 季调", [_pct(r.get(f"{stem}_sa_pct")) for r in head], True))
        title = Label(f"Delinquency rate, {en}", f"逾期率（{zh}）")
        charts.append((f"rates_{basis}", title, _lines(months, series, title, "%")))

    flows = pub.tables["flows"].rows
    flow_months = sorted({r["month"] for r in flows})
    series = []
    for kind, name in (
        ("flow30", "Flow into 30+ 转入30+"),
        ("flow90", "Flow into 90+ 转入90+"),
        ("cure", "Cure 回归正常"),
    ):
        by_month = {r["month"]: r for r in flows if r["kind"] == kind}
        series.append(
            (name, [_pct(by_month.get(m, {}).get("rate_balance_pct")) for m in flow_months], False)
        )
    title = Label("Flows into delinquency and cures, % of balance", "逾期转入率与回归率（余额）")
    charts.append(("flows", title, _lines(flow_months, series, title, "%")))

    multi = pub.tables["multiborrowing"].rows
    title = Label("Borrowers with open accounts at several institutions", "多头借贷借款人占比")
    series = [
        ("3+ institutions 3家及以上", [_pct(r.get("share_3_plus_pct")) for r in multi], False),
        ("5+ institutions 5家及以上", [_pct(r.get("share_5_plus_pct")) for r in multi], False),
    ]
    charts.append(
        (
            "multiborrowing",
            title,
            _lines([r["month"] for r in multi], series, title, "% of active borrowers"),
        )
    )

    charts.append(_buckets(pub))
    charts.append(_rollrates(pub))
    charts.append(_vintage(pub))
    for dimension in ("member_type", "product"):
        charts.append(_segments(pub, dimension))
    charts.append(_lender_bars(pub))
    return [Chart(n, t, f) for n, t, f in charts if f is not None]


def _bars(
    categories: list[str], series: list[tuple[str, list[float | None]]], title: Label, y: str
) -> go.Figure | None:
    if all(v is None for _, values in series for v in values):
        return None
    fig = go.Figure()
    for i, (name, values) in enumerate(series):
        fig.add_trace(
            go.Bar(x=categories, y=values, name=name, marker_color=PALETTE[i % len(PALETTE)])
        )
    fig.update_layout(barmode="group")
    return _layout(fig, title, y)


def _buckets(pub: Publication) -> tuple[str, Label, go.Figure | None]:
    rows = pub.tables["buckets"].rows
    title = Label("Open book by days past due", "在贷账户按逾期天数分布")
    cats = [f"{r['label_zh']}<br>{r['bucket']}" for r in rows]
    series = [
        ("% of accounts 账户占比", [_pct(r.get("share_accounts_pct")) for r in rows]),
        ("% of balance 余额占比", [_pct(r.get("share_balance_pct")) for r in rows]),
    ]
    fig = _bars(cats, series, title, "%")
    if fig is not None:
        fig.update_yaxes(type="log", title="% (log scale 对数坐标)")
        # a log axis has no 0: a published 0 and a suppressed bucket would both look like a
        # gap, so each is written at the foot of its bucket
        for cat, row in zip(cats, rows, strict=True):
            if row.get("flag"):
                text = "x (suppressed 已隐藏)"
            elif not row.get("share_accounts_pct") and not row.get("share_balance_pct"):
                text = "0 %"
            else:
                continue
            fig.add_annotation(
                x=cat, y=0, yref="paper", yanchor="bottom", text=text, showarrow=False
            )
    return ("buckets", title, fig)


def _rollrates(pub: Publication) -> tuple[str, Label, go.Figure | None]:
    rows = pub.tables["rollrates"].rows
    title = Label("Roll rates from last month, % of accounts", "迁徙率（账户，较上月）")
    starts = [b for b in BUCKETS if any(r["from_bucket"] == b for r in rows)]
    if not any(r.get("rate_accounts_pct") is not None for r in rows):
        return ("rollrates", title, None)
    z = [
        [
            _pct(
                next(
                    (
                        r.get("rate_accounts_pct")
                        for r in rows
                        if r["from_bucket"] == s and r["to_state"] == t
                    ),
                    None,
                )
            )
            for t in STATES
        ]
        for s in starts
    ]
    text = [[("" if v is None else f"{v:.1f}") for v in line] for line in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(STATES),
            y=starts,
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
            zmin=0,
            zmax=100,
            colorbar={"title": "%"},
        )
    )
    fig.update_yaxes(autorange="reversed")
    return ("rollrates", title, _layout(fig, title, "last month 上月", "this month 本月"))


def _vintage(pub: Publication) -> tuple[str, Label, go.Figure | None]:
    rows = pub.tables["vintage"].rows
    cohorts = sorted({r["cohort"] for r in rows})[-8:]
    title = Label(
        "Vintage curves: ever 30+ dpd, % of accounts opened", "账龄曲线：曾逾期30天以上账户占比"
    )
    fig = go.Figure()
    for i, cohort in enumerate(cohorts):
        points = [
            r for r in rows if r["cohort"] == cohort and r.get("ever_30_accounts_pct") is not None
        ]
        if points:
            fig.add_trace(
                go.Scatter(
                    x=[r["months_on_book"] for r in points],
                    y=[_pct(r["ever_30_accounts_pct"]) for r in points],
                    name=cohort,
                    mode="lines+markers",
                    line={"color": PALETTE[i % len(PALETTE)], "width": 2.5},
                )
            )
    if not fig.data:
        return ("vintage", title, None)
    return ("vintage", title, _layout(fig, title, "%", "months on book 账龄（月）"))


def _segments(pub: Publication, dimension: str) -> tuple[str, Label, go.Figure | None]:
    rows = [r for r in pub.tables["segments"].rows if r["dimension"] == dimension]
    dim = DIMENSION_LABELS[dimension]
    title = Label(f"30+ dpd by {dim.en.lower()}", f"按{dim.zh}的逾期30天以上占比")
    cats = [f"{r['label_zh']}<br>{r['label_en']}" for r in rows]
    series = [
        ("% of accounts 账户", [_pct(r.get("rate_30_accounts_pct")) for r in rows]),
        ("% of balance 余额", [_pct(r.get("rate_30_balance_pct")) for r in rows]),
    ]
    return (f"segments_{dimension}", title, _bars(cats, series, title, "%"))


def _lender_bars(pub: Publication) -> tuple[str, Label, go.Figure | None]:
    rows = pub.tables["lenders"].rows
    title = Label(
        "30+ dpd by the borrower's number of institutions", "按借款机构数的逾期30天以上占比"
    )
    cats = [f"{r['label_zh']}<br>{r['label_en']}" for r in rows]
    series = [
        ("% of accounts 账户", [_pct(r.get("rate_30_accounts_pct")) for r in rows]),
        ("% of balance 余额", [_pct(r.get("rate_30_balance_pct")) for r in rows]),
    ]
    return ("lenders", title, _bars(cats, series, title, "%"))


def render(charts: list[Chart], folder: Path) -> list[Path]:
    """Write every chart as PNG under ``folder``/charts/ with one headless Chromium."""
    import kaleido

    (folder / "charts").mkdir(parents=True, exist_ok=True)
    paths = [folder / c.file for c in charts]
    todo = list(charts)
    # kaleido gives up on an image after its timeout and goes on with the rest (on a busy
    # machine Chromium's first page can take that long): the images it did not write get one
    # more browser, with twice the time, before the build fails.
    for timeout in (90, 180):
        jobs = [
            {
                "fig": c.figure,
                "path": str(folder / c.file),
                "opts": {"format": "png", "width": WIDTH, "height": HEIGHT, "scale": SCALE},
            }
            for c in todo
        ]
        try:
            kaleido.write_fig_from_object_sync(jobs, kopts={"mathjax": False, "timeout": timeout})
        except Exception as exc:
            raise RenderError(
                f"charts could not be rendered by kaleido ({type(exc).__name__}: {exc}); it "
                "needs Chromium (Debian: apt-get install chromium)"
            ) from None
        todo = [c for c in todo if _unwritten(folder / c.file)]
        if not todo:
            return paths
        log.warning("kaleido wrote no image for %s", ", ".join(c.file for c in todo))
    raise RenderError(f"kaleido wrote no image for {', '.join(Path(c.file).name for c in todo)}")


def _unwritten(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0
