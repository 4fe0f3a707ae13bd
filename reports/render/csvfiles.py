"""The CSV files of a release: one per table, the data dictionary, seasonal methods, revisions.

RFC 4180, comma separated, UTF-8 with a byte-order mark (so spreadsheet programs read the
Chinese labels correctly; Python reads it with ``encoding="utf-8-sig"``), ``\\r\\n`` line ends,
a header row. Columns come from :mod:`reports.columns`; a suppressed row keeps its key columns,
leaves every figure empty and carries ``x`` in ``flag``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from reports import exclusions
from reports.columns import TABLES
from reports.exclusions import Exclusions
from reports.publication import Publication
from reports.render.fmt import csv_value
from reports.revisions import Revision

ENCODING = "utf-8-sig"
UNITS = {
    "text": "",
    "cny": "CNY",
    "pct": "percent",
    "est": "percent",
    "flag": "",
    "months": "months",
}


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding=ENCODING, newline="")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding=ENCODING, newline="") as f:
        return list(csv.DictReader(f))


def table_rows(publication: Publication, name: str, decimals: int) -> list[list[str]]:
    """The CSV rows of one table, as text."""
    spec = TABLES[name]
    return [
        [csv_value(row.get(c.name), c.kind, decimals) for c in spec.columns]
        for row in publication.tables[name].rows
    ]


def write_tables(
    publication: Publication,
    folder: Path,
    decimals: int,
    revisions: list[Revision],
    *,
    excluded: Exclusions | None = None,
) -> list[Path]:
    """Write every CSV of the release into ``folder``; return the paths. ``excluded``: the
    records rejected in the series' months (``exclusions.csv``)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in TABLES.items():
        path = folder / f"{name}.csv"
        write_csv(path, spec.names, table_rows(publication, name, decimals))
        written.append(path)
    path = folder / "seasonal.csv"
    write_csv(
        path,
        ["series", "method", "note"],
        [[series, adj.method, adj.note] for series, adj in publication.seasonal.items()],
    )
    written.append(path)
    path = folder / "revisions.csv"
    write_csv(path, Revision.HEADER, [r.as_row() for r in revisions])
    written.append(path)
    if excluded is not None:
        path = folder / "exclusions.csv"
        write_csv(path, exclusions.HEADER, excluded.csv_rows(decimals))
        written.append(path)
    path = folder / "data_dictionary.csv"
    write_csv(
        path,
        ["file", "column", "type", "unit", "label_en", "label_zh", "description"],
        _dictionary(decimals),
    )
    written.append(path)
    return written


def _dictionary(decimals: int) -> list[list[str]]:
    rows = []
    for name, spec in TABLES.items():
        for c in spec.columns:
            about = c.about
            if c.kind in ("pct", "est"):
                about += (
                    f" (percent, {decimals + 4} decimals, rounded half up from the exact value)"
                )
            count_unit = "borrowers" if "borrowers" in c.name else "accounts"
            unit = UNITS.get(c.kind, count_unit)
            rows.append([f"{name}.csv", c.name, c.kind, unit, c.en, c.zh, about])
    rows += [
        [
            "seasonal.csv",
            "series",
            "text",
            "",
            "Series",
            "序列",
            "headline column stem that is adjusted",
        ],
        ["seasonal.csv", "method", "text", "", "Method", "方法", "X-13ARIMA-SEATS, STL or none"],
        [
            "seasonal.csv",
            "note",
            "text",
            "",
            "Note",
            "说明",
            "model, Spring Festival effect, or why not adjusted",
        ],
    ]
    for column, kind, unit, en, zh, about in exclusions.DICTIONARY:
        if kind == "pct":
            about += f" (percent, {decimals + 4} decimals, rounded half up from the exact value)"
        rows.append(["exclusions.csv", column, kind, unit, en, zh, about])
    for column, about in Revision.ABOUT.items():
        rows.append(["revisions.csv", column, "text", "", column, column, about])
    return rows
