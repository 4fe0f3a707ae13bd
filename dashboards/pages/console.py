"""The operations console: the association's staff watch files, quality, lookups and releases,
build a release and suspend or reinstate members.

Pages (under ``<prefix>console``): files received against expected per member and day (late and
missing marked) with rejection rates; the DQ league table; lookup volume, refusals and latency;
releases (built, verified, published) with a button that builds one; members with suspend and
reinstate. Any staff login sees the pages; acts need the role (:data:`access.ACTS`: members —
admin; a build — admin or operator) and are recorded in the audit chain under the staff user.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboards.data import ExchangeData, Refused
from dashboards.pages import access
from dashboards.pages.widgets import Mark, figure, grid, pct, subnav
from dashboards.releases import ReleaseShelf
from dashboards.text import tr

PAGES = {
    "": "Files and rejections",
    "quality": "DQ league table",
    "lookups": "Lookups",
    "releases": "Releases",
    "members": "Members",
}
FILE_DAYS = 14
WINDOW_DAYS = 30
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MARK = {"ok": "✓", "late": "late", "missing": "missing"}


def layout(data: ExchangeData, shelf: ReleaseShelf, sub: str, prefix: str) -> list[Any]:
    who = access.account()
    if who is None:
        return access.login_needed(prefix, f"console/{sub}".rstrip("/"))
    if not who.staff:
        return access.wrong_area(tr("association staff"))
    if sub not in PAGES:
        return [html.P(tr("No such page."), className="empty")]
    head = [
        html.H2(
            tr("Operations console · {user} ({role})", user=who.username, role=who.role),
            id="console-title",
        ),
        subnav(prefix, "console", {k: tr(v) for k, v in PAGES.items()}, sub),
    ]
    if sub == "releases":
        return head + _releases(shelf)
    body = {"": _files, "quality": _league, "lookups": _lookups, "members": _members}[sub]
    return head + body(data)


def _files(data: ExchangeData) -> list[Any]:
    f = data.files(FILE_DAYS)
    rows = []
    for code in f.members:
        cells: list[Any] = [code]
        for d in f.days:
            state = f.cells[(code, d)]
            n = f.counts.get((code, d), 0)
            mark = tr(MARK[state])
            text = mark if n <= 1 else f"{mark} ×{n}"
            cells.append(Mark(text, f"cell-{state}"))
        rows.append(cells)
    rates = data.rejection_rates(WINDOW_DAYS)
    return [
        html.Section(
            [
                html.H3(tr("Files received against expected")),
                html.P(
                    tr(
                        "Each active member is expected to report every day. Per member and "
                        "reporting day (as of) over the {days} days up to the latest day "
                        "reported: ✓ a file loaded, late — it came more than {timely} days "
                        "after its as-of date, missing — none (a rejected file does not count).",
                        days=FILE_DAYS,
                        timely=f.timely_days,
                    )
                ),
                grid([tr("member"), *[f"{d:%m-%d}" for d in f.days]], rows, "files-grid"),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(tr("Rejection rates")),
                html.P(
                    tr(
                        "Records rejected of records received per member, last {days} days "
                        "(duplicates not counted), highest first.",
                        days=WINDOW_DAYS,
                    )
                ),
                dcc.Graph(
                    id="rejection-rates",
                    config={"displaylogo": False},
                    figure=figure(
                        [
                            {
                                "type": "bar",
                                "x": [r["member"] for r in rates],
                                "y": [r["rate"] for r in rates],
                                "name": tr("rejected"),
                            }
                        ],
                        tr("Share of records rejected"),
                        yaxis={"tickformat": ".1%"},
                    ),
                ),
                grid(
                    [*map(tr, ("member", "files", "records", "rejected", "rate"))],
                    [
                        [
                            r["member"],
                            r["files"],
                            f"{r['records']:,}",
                            f"{r['rejected']:,}",
                            pct(r["rate"], 2),
                        ]
                        for r in rates
                    ],
                    "rejection-table",
                ),
            ],
            className="chart",
        ),
    ]


def _league(data: ExchangeData) -> list[Any]:
    league = data.dq_league(WINDOW_DAYS)
    return [
        html.Section(
            [
                html.H3(tr("Data-quality league table")),
                html.P(
                    tr(
                        "Each member's weighted DQ score over the last {days} days (the score "
                        "reciprocity compares with its threshold), best first; members without "
                        "files in the window last.",
                        days=WINDOW_DAYS,
                    )
                ),
                grid(
                    [*map(tr, ("rank", "member", "score"))],
                    [
                        [
                            r["rank"] or "-",
                            r["member"],
                            "-" if r["score"] is None else f"{r['score']:.1f}",
                        ]
                        for r in league
                    ],
                    "dq-league",
                ),
            ],
            className="chart",
        )
    ]


def _lookups(data: ExchangeData) -> list[Any]:
    found = data.lookups(WINDOW_DAYS)
    daily = found["daily"]
    days = sorted({r["day"] for r in daily})
    products = sorted({r["product"] for r in daily})
    traces = [
        {
            "type": "bar",
            "name": p,
            "x": [d.isoformat() for d in days],
            "y": [
                sum(int(r["units"]) for r in daily if r["day"] == d and r["product"] == p)
                for d in days
            ],
        }
        for p in products
    ]
    per_member: dict[str, int] = {}
    for r in daily:
        per_member[r["member_code"]] = per_member.get(r["member_code"], 0) + int(r["units"])
    meter = found.get("meter") or {}
    since = dt.datetime.fromtimestamp(meter["since"], dt.UTC) if meter.get("since") else None
    return [
        html.Section(
            [
                html.H3(tr("Lookup volume")),
                html.P(
                    tr(
                        "Lookups answered per day since {since} by product, from the inquiry log.",
                        since=found["since"],
                    )
                ),
                dcc.Graph(
                    id="lookup-volume",
                    config={"displaylogo": False},
                    figure=figure(
                        traces,
                        tr("Lookups per day"),
                        barmode="stack",
                        xaxis={"type": "category"},
                    ),
                ),
                grid(
                    [tr("member"), tr("lookups")],
                    [[m, f"{n:,}"] for m, n in sorted(per_member.items(), key=lambda x: -x[1])],
                    "lookup-members",
                ),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(tr("Refusals and latency")),
                html.P(
                    tr(
                        "Requests to the lookup routes (multi-loan, time series, batch) since "
                        "{since} UTC: refused answers by error code and HTTP status and the time "
                        "the server took (counted per minute and kept in the warehouse, so a "
                        "restart loses nothing).",
                        since=f"{since:%Y-%m-%d %H:%M}",
                    )
                    if since
                    else tr("The lookup API's meter is not running here.")
                ),
                grid([*map(tr, METER)], [_meter_row(meter)], "lookup-meter"),
                grid(
                    [tr("member"), *map(tr, METER)],
                    [
                        [m["member"] or tr("(key not recognised)"), *_meter_row(m)]
                        for m in found.get("members") or []
                    ],
                    "lookup-meter-members",
                ),
            ],
            className="chart",
        ),
    ]


METER = ("requests", "answered", "refused", "failed", "median ms", "95th pct ms")


def _meter_row(meter: dict[str, Any]) -> list[Any]:
    refused = ", ".join(f"{k}: {v:,}" for k, v in sorted((meter.get("refused") or {}).items()))
    return [
        f"{meter.get('requests', 0):,}",
        f"{meter.get('answered', 0):,}",
        refused or tr("none"),
        f"{meter.get('failed', 0):,}",
        meter.get("p50_ms") or "-",
        meter.get("p95_ms") or "-",
    ]


def _releases(shelf: ReleaseShelf) -> list[Any]:
    found = shelf.releases()
    state = tr("verified, published")
    rows = [[r.month, f"v{r.version}", state, str(r.revisions)] for r in found]
    return [
        html.Section(
            [
                html.H3(tr("Releases")),
                html.P(
                    tr(
                        "Every release on the shelf whose signature and files verify (a release "
                        "that fails is not published on the public pages and not listed)."
                    )
                ),
                grid([*map(tr, ("month", "version", "state", "revisions"))], rows, "release-list"),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(tr("Build a release")),
                html.P(
                    tr(
                        "Builds the month's release in the server as `jdx report build` does "
                        "(statistics, disclosure control and its audit, seasonal adjustment, "
                        "files, signed manifest); the latest month with data when no month is "
                        "given. Recorded in the audit chain under your name."
                    )
                ),
                dcc.Input(id="build-month", placeholder=tr("YYYY-MM (optional)"), maxLength=7),
                html.Button(tr("Build release"), id="build-release"),
                dcc.Store(id="build-job"),
                dcc.Interval(id="build-poll", interval=1000, disabled=True),
                html.Pre(id="build-status"),
            ],
            className="chart",
        ),
    ]


def members_table(data: ExchangeData) -> html.Table:
    rows = []
    for m in data.members():
        if m.status == "ACTIVE":
            act: Any = html.Button(
                tr("suspend"), id={"type": "member-act", "act": "suspend", "code": m.code}
            )
        else:
            act = html.Button(
                tr("reinstate"), id={"type": "member-act", "act": "reinstate", "code": m.code}
            )
        rows.append([m.code, m.name, m.type, m.status, m.reason or "", act])
    head = [*map(tr, ("code", "name", "type", "status", "reason")), ""]
    return grid(head, rows, "members-table")


def _members(data: ExchangeData) -> list[Any]:
    return [
        html.Section(
            [
                html.H3(tr("Members")),
                html.P(
                    tr(
                        "Suspending a member refuses its SFTP logins, its API keys and its "
                        "analysts' portal sessions at once; reinstating lets them in again. "
                        "Both need the admin role and a reason for a suspension, and are "
                        "recorded in the audit chain."
                    )
                ),
                dcc.Input(
                    id="suspend-reason",
                    placeholder=tr("reason for a suspension"),
                    maxLength=500,
                    style={"width": "30rem"},
                ),
                html.Div(members_table(data), id="members-list"),
                html.Div(id="members-message", role="status"),
            ],
            className="chart",
        )
    ]


def register(app: Dash, data: ExchangeData, record: access.Record) -> None:
    """The console's callbacks: member acts, a release build and its progress."""

    @app.callback(
        Output("members-message", "children"),
        Output("members-list", "children"),
        Input({"type": "member-act", "act": ALL, "code": ALL}, "n_clicks"),
        State("suspend-reason", "value"),
        prevent_initial_call=True,
    )
    def member_act(clicks: list[int | None], reason: str | None) -> tuple[Any, Any]:
        who = access.need_staff(record, "member")
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(t.get("value") for t in ctx.triggered):
            raise PreventUpdate
        code = str(trigger.get("code"))
        try:
            if trigger.get("act") == "suspend":
                if not (reason or "").strip():
                    raise Refused(tr("give the reason for the suspension first"))
                data.suspend(code, str(reason), who.username)
                message: Any = html.P(tr("{code} suspended.", code=code), id="member-done")
            else:
                data.reinstate(code, who.username)
                message = html.P(tr("{code} reinstated.", code=code), id="member-done")
        except Refused as exc:
            message = html.P(str(exc), className="login-error", id="member-error")
        return message, members_table(data)

    @app.callback(
        Output("build-job", "data"),
        Output("build-poll", "disabled"),
        Input("build-release", "n_clicks"),
        State("build-month", "value"),
        prevent_initial_call=True,
    )
    def build(clicks: int | None, month: str | None) -> tuple[Any, bool]:
        who = access.need_staff(record, "build")
        if not clicks:
            raise PreventUpdate
        wanted = (month or "").strip() or None
        if wanted is not None and not _MONTH.match(wanted):
            return {"error": tr("{month} is not a month YYYY-MM", month=repr(wanted))}, True
        job = data.start_build(wanted, who.username)
        return {"id": job.id}, False

    @app.callback(
        Output("build-status", "children"),
        Output("build-poll", "disabled", allow_duplicate=True),
        Input("build-poll", "n_intervals"),
        Input("build-job", "data"),
        prevent_initial_call=True,
    )
    def progress(_: int | None, job_ref: dict[str, Any] | None) -> tuple[str, bool]:
        access.need_staff(record)
        if not job_ref:
            raise PreventUpdate
        if "error" in job_ref:
            return str(job_ref["error"]), True
        job = data.job(str(job_ref.get("id")))
        if job is None:
            return tr("no such build"), True
        head = tr("{what} by {actor}: {state}", what=job.what, actor=job.actor, state=job.state)
        text = head + "\n" + "\n".join(job.lines[-40:])
        return text, job.state != "running"
