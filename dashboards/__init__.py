"""Dash dashboards: the public industry pages of the published releases and, behind a login, the
member portal and the operations console. Only this package imports dash.

    releases   the verified releases and their CSV tables (never the warehouse)
    charts     plotly figures from those rows (suppressed cells never plotted)
    text       the pages' own words in English and Chinese, and the charts' definitions
    pages/     one module per page; common: the chart block (definition, suppressed, CSV);
               portal, console: the logged-in areas; access: who may see what
    auth       logins, server-side sessions behind a signed cookie, login limits
    data       the typed interface of the portal's and console's queries (runtime implements it)
    settings   [dashboards]: session expiry, login limits, the cookie's Secure flag
    app        the Dash app, its callbacks and the CSV download route; its ASGI form
    service    the part of ``jdx serve`` that mounts the app at ``/dashboards/``

docs/dashboards.md describes the pages.
"""
