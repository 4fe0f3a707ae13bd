"""The Dash app of the public pages, and its ASGI form for mounting in ``jdx serve``'s server.

::

    app = create_app(releases_dir, prefix="/dashboards/")   # a dash.Dash (Flask inside)
    asgi = create_asgi(releases_dir, prefix="/dashboards/")  # the same, wrapped by a2wsgi

Invariants:

* Data come from published releases only (:class:`~dashboards.releases.ReleaseShelf`), never the
  warehouse: the app can run in a process that does not own it.
* Every asset is served by this app (``serve_locally``: Dash's and plotly.js's bundles from the
  installed packages, ``assets/`` from this folder); no page loads anything from another host.
* The header (release selector, 中文/English switch, navigation) stays while pages change; one
  callback draws the page from (path, release, language); the language callback redraws the
  header's words.
* ``GET <prefix>download/<YYYY-MM>/v<N>/<table>.csv[?<key>=<value>…]`` answers the rows of one
  published table (optionally those whose key columns equal the values given) as the release's
  CSV does: same columns, hidden cells with empty figures and ``flag`` = ``x``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from dash import Dash, Input, Output, dcc, html
from flask import Response, abort, g, has_request_context, request

from dashboards import geo
from dashboards.auth import COOKIE, Auth
from dashboards.data import ExchangeData
from dashboards.pages import PAGES, access, console, portal
from dashboards.pages.common import Page
from dashboards.releases import Release, ReleaseShelf
from dashboards.text import t, tr
from reports.columns import TABLES

PREFIX = "/dashboards/"
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def create_app(
    releases_dir: Path,
    prefix: str = PREFIX,
    *,
    auth: Auth | None = None,
    data: ExchangeData | None = None,
    province_geojson: Path | None = None,
) -> Dash:
    """The public pages over the releases in ``releases_dir``, served under ``prefix``; with
    ``auth`` and ``data`` also the member portal and the operations console behind a login."""
    shelf = ReleaseShelf(releases_dir)
    provinces = geo.load(province_geojson)  # DSH004 at start when the file cannot be drawn
    provinces_json = json.dumps(provinces.geojson, ensure_ascii=False, separators=(",", ":"))
    app = Dash(
        __name__,
        requests_pathname_prefix=prefix,
        routes_pathname_prefix="/",
        serve_locally=True,
        assets_folder=str(Path(__file__).parent / "assets"),
        title=t("title", "en"),
        update_title="",  # no "Updating..." title while a callback runs
        compress=False,
        eager_loading=True,  # plotly.js with the first scripts, not after the first callback
        # the portal's and console's controls exist only on their pages
        suppress_callback_exceptions=data is not None,
    )
    app.layout = lambda: _layout(shelf, prefix, auth is not None)
    areas = auth is not None and data is not None
    if auth is not None and data is not None:
        auth.install(app.server)
        portal.register(app, data, auth.record)
        console.register(app, data, auth.record)

    @app.callback(
        Output("title", "children"),
        Output("subtitle", "children"),
        Output("nav", "children"),
        Output("release-label", "children"),
        Output("release", "options"),
        Output("user", "children"),
        Input("lang", "value"),
    )
    def header(lang: str) -> tuple[Any, ...]:
        lang = _lang(lang)
        return (
            t("title", lang),
            t("subtitle", lang),
            _nav(app, lang),
            t("release", lang),
            _options(shelf.releases(), lang),
            _user_items(prefix, auth is not None, lang),
        )

    @app.callback(
        Output("page", "children"),
        Input("url", "pathname"),
        Input("release", "value"),
        Input("lang", "value"),
    )
    def page(pathname: str | None, key: str | None, lang: str) -> Any:
        lang = _lang(lang)
        g.lang = lang  # the portal's and console's words (dashboards.text.tr)
        if auth is not None:  # and the session's, for the acts' answers
            auth.sessions.set_lang(request.cookies.get(COOKIE), lang)
        path = (app.strip_relative_path(pathname or prefix) or "").strip("/")
        area, _, sub = path.partition("/")
        if area in ("portal", "console"):
            if not areas:
                return html.P(t("unknown_page", lang), className="empty")
            assert data is not None
            if area == "portal":
                return portal.layout(data, sub, prefix)
            return console.layout(data, shelf, sub, prefix)
        release = shelf.get(key)
        if release is None:
            return html.P(t("no_release", lang), className="empty")
        if path not in PAGES:
            return html.P(t("unknown_page", lang), className="empty")
        return PAGES[path][1](Page(shelf, release, lang, prefix, provinces))

    @app.server.route("/provinces.geojson")
    def provinces_geojson() -> Response:
        """The province choropleth's map (the shipped tile grid or the approved file)."""
        response = Response(provinces_json, mimetype="application/geo+json")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @app.server.route("/download/<month>/v<int:version>/<name>.csv")
    def download(month: str, version: int, name: str) -> Response:
        release = shelf.get(f"{month}/v{version}") if _MONTH.match(month) else None
        if release is None or name not in TABLES:
            abort(404)
        spec = TABLES[name]
        wanted = {k: v for k, v in request.args.items() if k in spec.keys}
        if set(request.args) - set(wanted):
            abort(400)
        rows = [
            r for r in shelf.table(release, name) if all(r.get(k) == v for k, v in wanted.items())
        ]
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(spec.names)
        writer.writerows([[r.get(c, "") for c in spec.names] for r in rows])
        suffix = "".join(f"_{v}" for v in wanted.values())
        filename = f"jdx_{month}_v{version}_{name}{suffix}.csv"
        return Response(
            ("\ufeff" + buffer.getvalue()).encode("utf-8"),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return app


def create_asgi(
    releases_dir: Path,
    prefix: str = PREFIX,
    *,
    auth: Auth | None = None,
    data: ExchangeData | None = None,
    province_geojson: Path | None = None,
) -> Any:
    """:func:`create_app` as an ASGI application, to mount at ``prefix`` of an ASGI server."""
    from a2wsgi import WSGIMiddleware

    app = create_app(releases_dir, prefix, auth=auth, data=data, province_geojson=province_geojson)
    return WSGIMiddleware(app.server)


def _lang(lang: str | None) -> str:
    return "zh" if lang == "zh" else "en"


def _options(releases: list[Release], lang: str) -> list[dict[str, str]]:
    out = []
    for r in releases:
        if lang == "zh":
            note = f"修订{r.revisions}项" if r.revisions else "无修订"
            text = f"{r.month} 第{r.version}版 · {note}"
        else:
            note = f"{r.revisions} revision(s)" if r.revisions else "no revisions"
            text = f"{r.month} v{r.version} · {note}"
        out.append({"label": text, "value": r.key})
    return out


def _nav(app: Dash, lang: str) -> list[Any]:
    return [
        dcc.Link(t(key, lang), href=app.get_relative_path(f"/{path}"), id=f"nav-{path or 'home'}")
        for path, (key, _) in PAGES.items()
    ]


def _user(prefix: str, logins: bool) -> html.Div:
    """Who is logged in, the way to their area and the logout; or the login link."""
    lang = getattr(g, "lang", "en") if has_request_context() else "en"
    return html.Div(_user_items(prefix, logins, lang), id="user")


def _user_items(prefix: str, logins: bool, lang: str) -> list[Any]:
    if not logins or not has_request_context():
        return []
    who = access.account()
    if who is None:
        return [html.A(tr("Log in", lang), href=f"{prefix}login", id="login")]
    area, text = ("console", "Operations console") if who.staff else ("portal", "Member portal")
    return [
        dcc.Link(tr(text, lang), href=f"{prefix}{area}", id=f"to-{area}"),
        html.Span(f"{who.username}" + (f" · {who.member}" if who.member else ""), id="whoami"),
        html.Form(
            html.Button(tr("Log out", lang), type="submit", id="logout"),
            action=f"{prefix}logout",
            method="POST",
        ),
    ]


def _layout(shelf: ReleaseShelf, prefix: str = PREFIX, logins: bool = False) -> html.Div:
    releases = shelf.releases()
    return html.Div(
        [
            dcc.Location(id="url"),
            html.Header(
                [
                    html.Div(
                        [
                            html.H1(t("title", "en"), id="title"),
                            html.P(t("subtitle", "en"), id="subtitle"),
                        ],
                        className="titles",
                    ),
                    html.Div(
                        [
                            html.Label(t("release", "en"), id="release-label", htmlFor="release"),
                            dcc.Dropdown(
                                id="release",
                                options=_options(releases, "en"),
                                value=releases[0].key if releases else None,
                                clearable=False,
                                searchable=False,
                            ),
                            dcc.RadioItems(
                                id="lang",
                                options=[
                                    {"label": "English", "value": "en"},
                                    {"label": "中文", "value": "zh"},
                                ],
                                value="en",
                                inline=True,
                                # the choice stays for the browser tab's session
                                persistence=True,
                                persistence_type="session",
                            ),
                        ],
                        className="controls",
                    ),
                    _user(prefix, logins),
                ]
            ),
            html.Nav(id="nav"),
            html.Main(id="page"),
        ],
        className="jdx",
    )
