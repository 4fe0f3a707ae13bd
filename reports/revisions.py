"""Revisions: what a release changes against the release it supersedes.

A release is compared with the latest earlier version of the same month, or — for a month's
first version — with the latest release of the most recent earlier month (whose series overlap
this one's). Figures are compared as published in CSV (same rounding), key by key: a revised
figure is one printed in both releases with different values; a figure that is published in one
and suppressed in the other is listed without any value, so the comparison never prints a
suppressed figure. Late or corrected member data reach earlier months this way; so do seasonal
factors, which are re-estimated every month (concurrent adjustment).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import ClassVar

from reports.columns import TABLES
from reports.publication import Publication
from reports.render.fmt import csv_value

NUMERIC = frozenset({"count", "cny", "pct", "est"})


@dataclass(frozen=True)
class Revision:
    table: str
    key: str
    column: str
    previous: str
    current: str
    change: str
    note: str

    HEADER: ClassVar[list[str]] = [
        "table",
        "key",
        "column",
        "previous",
        "current",
        "change",
        "note",
    ]
    ABOUT: ClassVar[dict[str, str]] = {
        "table": "published table (file name without .csv)",
        "key": "the row's key columns joined by /",
        "column": "the revised column",
        "previous": "value in the superseded release (empty when suppressed there)",
        "current": "value in this release (empty when suppressed here)",
        "change": "current - previous",
        "note": "revised, now suppressed, or now published",
    }

    def as_row(self) -> list[str]:
        return [
            self.table,
            self.key,
            self.column,
            self.previous,
            self.current,
            self.change,
            self.note,
        ]


def compare(publication: Publication, previous_tables: Path, decimals: int) -> list[Revision]:
    """Every difference between ``publication`` and the CSV tables in ``previous_tables``."""
    out: list[Revision] = []
    for name, spec in TABLES.items():
        path = previous_tables / f"{name}.csv"
        if not path.exists():
            continue
        with path.open(encoding="utf-8-sig", newline="") as f:
            before = {_key(row, spec.keys): row for row in csv.DictReader(f)}
        figures = [c for c in spec.columns if c.kind in NUMERIC]
        for row in publication.tables[name].rows:
            now = {c.name: csv_value(row.get(c.name), c.kind, decimals) for c in spec.columns}
            key = _key(now, spec.keys)
            old = before.get(key)
            if old is None:
                continue
            was_hidden, is_hidden = bool(old.get("flag")), bool(row.get("flag"))
            if was_hidden != is_hidden:
                note = "now suppressed" if is_hidden else "now published"
                out.append(Revision(name, key, "*", "", "", "", note))
                continue
            if is_hidden:
                continue
            for column in figures:
                a, b = old.get(column.name, ""), now[column.name]
                if a != b:
                    out.append(Revision(name, key, column.name, a, b, _change(a, b), "revised"))
    return out


def _key(row: dict[str, str], keys: tuple[str, ...]) -> str:
    return "/".join(str(row.get(k, "")) for k in keys)


def _change(a: str, b: str) -> str:
    try:
        return str(Decimal(b) - Decimal(a))
    except InvalidOperation:
        return ""
