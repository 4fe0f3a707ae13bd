"""Industry delinquency releases: statistics from the warehouse, seasonal adjustment, disclosure
control, versioned HTML/PDF/CSV publications (methodology: docs/reports.md).

The stages, one module each, in the order a release runs them::

    statistics.compute(wh, month)      named queries sql/queries/report_*.sql → cells (+ dynamics)
    disclosure.protect(stats, rule)    ≥ 5 institutions, none > 25 %; exact secondary suppression
    publication.publish(stats, prot)   published tables; seasonal.adjust (X-13 / STL) for SA
    revisions.compare(pub, previous)   what changed against the release superseded
    render.csvfiles / charts / html / pdf      every output from the same published rows
    release.build(settings, wh, month) all of the above into <releases>/<YYYY-MM>/v<N>/, signed
                                       (manifest), audited

``cells`` holds the exact quantities and disclosure attributes every table is made of,
``columns`` the catalogue of published columns (and so the data dictionary), ``labels`` the
bilingual labels. Only this package and ``dashboards/`` draw charts (plotly).
"""
