"""The member portal: a member's analysts see their own member's data, and only that.

Pages (under ``<prefix>portal``): submissions and receipts; rejected records by rule and field
with their trend and the DQ score against the industry's; lookups, usage and statements; API and
SSH keys. The member is always the logged-in user's own (``flask.g.account``); no page, callback
or download takes a member from the request, and ids of another member's things are refused
(403, ``dashboards.refused`` in the audit chain).
"""

from __future__ import annotations

import re
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import Response, abort

from dashboards.data import ExchangeData, NotYours, Refused
from dashboards.pages import access
from dashboards.pages.widgets import Link, figure, grid, pct, subnav, when
from dashboards.text import tr

PAGES = {
    "": "Submissions and receipts",
    "quality": "Rejections and data quality",
    "usage": "Lookups, usage and bills",
    "keys": "API and SSH keys",
}
WINDOW_DAYS = 90
PRODUCTS = ("multi_loan", "time_series", "batch", "usage", "disputes", "consents")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_LOAD_ID = re.compile(r"^[0-9A-Z]{26}$")


def layout(data: ExchangeData, sub: str, prefix: str) -> list[Any]:
    who = access.account()
    if who is None:
        return access.login_needed(prefix, f"portal/{sub}".rstrip("/"))
    if who.staff or not who.member:
        return access.wrong_area(tr("members' analysts"))
    if sub not in PAGES:
        return [html.P(tr("No such page."), className="empty")]
    member = who.member
    head = [
        html.H2(tr("Member portal · {member}", member=member), id="portal-title"),
        subnav(prefix, "portal", {k: tr(v) for k, v in PAGES.items()}, sub),
    ]
    body = {"": _submissions, "quality": _quality, "usage": _usage, "keys": _keys}[sub]
    return head + body(data, member, prefix)


def _submissions(data: ExchangeData, member: str, prefix: str) -> list[Any]:
    subs = data.submissions(member)
    rows = [
        [
            s.file,
            s.status,
            when(s.received_at),
            when(s.as_of),
            f"{s.records:,}",
            f"{s.accepted:,}",
            f"{s.rejected:,}",
            f"{s.warnings:,}",
            "-" if s.dq_score is None else f"{s.dq_score:.1f}",
            Link(tr("receipt"), f"{prefix}portal/receipt/{s.load_id}.json", "receipt")
            if s.has_receipt
            else "-",
        ]
        for s in subs
    ]
    return [
        html.Section(
            [
                html.H3(tr("Files received")),
                html.P(
                    tr(
                        "Every file your member sent, newest first: its outcome, the records "
                        "accepted and rejected, and its receipt (the same file as in your SFTP "
                        "outbox)."
                    )
                ),
                grid(
                    [
                        *map(tr, ("file", "status", "received", "as of", "records")),
                        *map(tr, ("accepted", "rejected", "warnings", "DQ")),
                        "",
                    ],
                    rows,
                    "submissions",
                )
                if rows
                else html.P(tr("No file received yet."), className="empty", id="submissions"),
            ],
            className="chart",
        )
    ]


def _quality(data: ExchangeData, member: str, prefix: str) -> list[Any]:
    rej = data.rejections(member, WINDOW_DAYS)
    q = data.quality(member, WINDOW_DAYS)
    codes = [r["code"] for r in rej.by_rule[:8]]
    days = sorted({r["day"] for r in rej.per_day})
    trend = [
        {
            "type": "bar",
            "name": code,
            "x": [d.isoformat() for d in days],
            "y": [
                sum(r["records"] for r in rej.per_day if r["day"] == d and r["code"] == code)
                for d in days
            ],
        }
        for code in codes
    ]
    doc = q.doc
    score = doc.get("score")
    rank = 1 + sum(1 for s in q.industry if score is not None and s > score)
    standing = (
        tr(
            "{score}, rank {rank} of the {n} members with data (1: best)",
            score=f"{score:.1f}",
            rank=rank,
            n=len(q.industry),
        )
        if score is not None
        else tr("no data-quality figures in the window")
    )
    lift_rows = [
        [tr(x["dimension"]), pct(x["rate"]), f"+{x['points']:.2f}", tr(x["advice"])]
        for x in doc.get("lift", [])
    ]
    return [
        html.Section(
            [
                html.H3(tr("Rejected records by rule")),
                html.P(
                    tr(
                        "Records with an issue since {since} (errors reject the record, "
                        "warnings do not), by rule; the chart shows the daily trend of the "
                        "eight rules broken most.",
                        since=rej.since,
                    )
                ),
                grid(
                    [*map(tr, ("rule", "name", "severity", "records"))],
                    [
                        [r["code"], r["name"], r["severity"], f"{r['records']:,}"]
                        for r in rej.by_rule
                    ],
                    "rejections-by-rule",
                ),
                dcc.Graph(
                    id="rejections-trend",
                    config={"displaylogo": False},
                    figure=figure(
                        trend,
                        tr("Records with issues per day, by rule"),
                        xaxis={"type": "category"},
                        barmode="stack",
                    ),
                ),
                html.H3(tr("Rejected records by field")),
                grid(
                    [tr("field"), tr("records")],
                    [[r["field"], f"{r['records']:,}"] for r in rej.by_field],
                    "rejections-by-field",
                ),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(tr("Data-quality score against the industry")),
                html.P(
                    tr(
                        "Your score over the last {days} days: {standing}. Threshold "
                        "{threshold}; the chart is the distribution of every member's score "
                        "(names withheld), yours marked.",
                        days=WINDOW_DAYS,
                        standing=standing,
                        threshold=doc.get("threshold"),
                    ),
                    id="dq-standing",
                ),
                dcc.Graph(
                    id="dq-industry",
                    config={"displaylogo": False},
                    figure=figure(
                        [
                            {
                                "type": "histogram",
                                "x": q.industry,
                                "name": tr("members"),
                                "xbins": {"start": 0, "end": 100, "size": 5},
                            }
                        ],
                        tr("Members' DQ scores"),
                        xaxis={"range": [0, 100]},
                        shapes=[
                            {
                                "type": "line",
                                "x0": score,
                                "x1": score,
                                "yref": "paper",
                                "y0": 0,
                                "y1": 1,
                                "line": {"color": "#c00000", "width": 3},
                            }
                        ]
                        if score is not None
                        else [],
                    ),
                ),
                html.H3(tr("What would lift it")),
                grid(
                    [*map(tr, ("dimension", "pass rate", "points if perfect", "what to do"))],
                    lift_rows,
                    "dq-lift",
                )
                if lift_rows
                else html.P(tr("Nothing to lift."), id="dq-lift"),
            ],
            className="chart",
        ),
    ]


def _usage(data: ExchangeData, member: str, prefix: str) -> list[Any]:
    used = data.usage(member, WINDOW_DAYS)
    products = sorted({r["product"] for r in used})
    days = sorted({r["day"] for r in used})
    traces = [
        {
            "type": "bar",
            "name": p,
            "x": days,
            "y": [
                sum(r["units"] for r in used if r["day"] == d and r["product"] == p) for d in days
            ],
        }
        for p in products
    ]
    bills = data.statements(member, 3)
    rows = [
        [
            b["month"],
            f"{b['units']:,}",
            f"{b['total']} {b['currency']}",
            html.Span(
                [
                    html.A(
                        "CSV",
                        href=f"{prefix}portal/statement/{b['month']}.csv",
                        className="statement-csv",
                    ),
                    " · ",
                    html.A(
                        "PDF",
                        href=f"{prefix}portal/statement/{b['month']}.pdf",
                        className="statement-pdf",
                    ),
                ]
            ),
        ]
        for b in bills
    ]
    return [
        html.Section(
            [
                html.H3(tr("Lookups per day")),
                html.P(
                    tr(
                        "Your lookups over the last {days} days by product (a batch counts one "
                        "per borrower), metered from the inquiry log as billed.",
                        days=WINDOW_DAYS,
                    )
                ),
                dcc.Graph(
                    id="usage-daily",
                    config={"displaylogo": False},
                    figure=figure(
                        traces, tr("Lookups per day"), barmode="stack", xaxis={"type": "category"}
                    ),
                ),
                html.P(
                    tr("Total: {n} lookups.", n=f"{sum(r['units'] for r in used):,}"),
                    id="usage-total",
                ),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(tr("Statements")),
                html.P(
                    tr(
                        "This month so far and the two before, priced by the price list; "
                        "download the statement as CSV or PDF."
                    )
                ),
                grid([*map(tr, ("month", "lookups", "amount", "statement"))], rows, "statements"),
            ],
            className="chart",
        ),
    ]


def keys_table(data: ExchangeData, member: str) -> html.Table:
    rows = []
    for k in data.keys(member):
        act: Any = "-"
        if k.revoked_at is None:
            act = html.Button(
                tr("revoke") if k.kind == "api" else tr("remove"),
                id={"type": "key-revoke", "kind": k.kind, "key": k.id},
                className="revoke",
            )
        state = (
            tr("active") if k.revoked_at is None else tr("revoked {when}", when=when(k.revoked_at))
        )
        rows.append([k.kind.upper(), k.id, k.detail, when(k.created_at), state, act])
    head = [*map(tr, ("kind", "id", "detail", "created", "state")), ""]
    return grid(head, rows, "keys-table")


def _keys(data: ExchangeData, member: str, prefix: str) -> list[Any]:
    return [
        html.Section(
            [
                html.H3(tr("Your keys")),
                html.P(
                    tr(
                        "API keys of your risk systems and SSH keys of your file uploads. "
                        "Revoking takes effect at once; every change is recorded in the "
                        "exchange's audit chain under your name."
                    )
                ),
                html.Div(keys_table(data, member), id="keys-list"),
                html.Div(id="keys-message", role="status"),
            ],
            className="chart",
        ),
        html.Section(
            [
                html.H3(tr("Issue an API key")),
                html.P(tr("The token is shown once, here; the exchange keeps only its hash.")),
                dcc.Checklist(
                    id="issue-products",
                    options=list(PRODUCTS),
                    value=["multi_loan", "time_series", "usage"],
                    inline=True,
                ),
                dcc.Input(id="issue-label", placeholder=tr("label (optional)"), maxLength=100),
                html.Button(tr("Issue API key"), id="issue-key"),
                html.H3(tr("Add an SSH key")),
                dcc.Textarea(
                    id="ssh-public-key",
                    placeholder="ssh-ed25519 AAAA… comment",
                    style={"width": "100%", "height": "4rem"},
                ),
                html.Button(tr("Add SSH key"), id="add-ssh-key"),
            ],
            className="chart",
        ),
    ]


def register(app: Dash, data: ExchangeData, record: access.Record) -> None:
    """The portal's callbacks and download routes."""

    @app.callback(
        Output("keys-message", "children"),
        Output("keys-list", "children"),
        Input({"type": "key-revoke", "kind": ALL, "key": ALL}, "n_clicks"),
        Input("issue-key", "n_clicks"),
        Input("add-ssh-key", "n_clicks"),
        State("issue-products", "value"),
        State("issue-label", "value"),
        State("ssh-public-key", "value"),
        prevent_initial_call=True,
    )
    def key_acts(
        revokes: list[int | None],
        issue: int | None,
        add: int | None,
        products: list[str] | None,
        label: str | None,
        public_key: str | None,
    ) -> tuple[Any, Any]:
        who = access.need_member(record)
        assert who.member is not None
        trigger = ctx.triggered_id
        if trigger is None or not any(t.get("value") for t in ctx.triggered):
            raise PreventUpdate
        try:
            if trigger == "issue-key":
                key_id, token = data.issue_api_key(
                    who.member, list(products or []), str(label or ""), who.username
                )
                message: Any = html.Div(
                    [
                        html.Strong(
                            tr(
                                "API key {key} issued. Copy its token now; it is not shown again: ",
                                key=key_id,
                            )
                        ),
                        html.Code(token, id="new-token"),
                    ],
                    className="token",
                )
            elif trigger == "add-ssh-key":
                fp = data.add_ssh_key(who.member, str(public_key or ""), who.username)
                message = html.P(tr("SSH key {key} added.", key=fp), id="key-done")
            elif isinstance(trigger, dict) and trigger.get("type") == "key-revoke":
                key = str(trigger.get("key"))
                if trigger.get("kind") == "api":
                    data.revoke_api_key(who.member, key, who.username)
                else:
                    data.remove_ssh_key(who.member, key, who.username)
                message = html.P(tr("{key} revoked.", key=key), id="key-done")
            else:
                raise PreventUpdate
        except NotYours as exc:
            raise access.refuse(record, str(exc)) from None
        except Refused as exc:
            message = html.P(str(exc), className="login-error", id="key-error")
        return message, keys_table(data, who.member)

    @app.server.route("/portal/receipt/<load_id>.json")
    def receipt(load_id: str) -> Response:
        who = access.need_member(record)
        assert who.member is not None
        if not _LOAD_ID.match(load_id):
            abort(404)
        try:
            raw = data.receipt(who.member, load_id)
        except NotYours as exc:
            raise access.refuse(record, str(exc)) from None
        except Refused:
            abort(404)
        return Response(raw, mimetype="application/json")

    @app.server.route("/portal/statement/<month>.<fmt>")
    def statement(month: str, fmt: str) -> Response:
        who = access.need_member(record)
        assert who.member is not None
        if not _MONTH.match(month) or fmt not in ("csv", "pdf"):
            abort(404)
        body = data.statement_file(who.member, month, fmt)
        name = f"{who.member}_{month}.statement.{fmt}"
        return Response(
            body,
            mimetype="text/csv" if fmt == "csv" else "application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
