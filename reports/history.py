"""What earlier releases published: disclosure decisions that later releases must keep.

A figure, once published, is public; a figure, once protected, must stay protected — a later
release (a new month, or a new version of the same month after late data) may not print what an
earlier one hid, nor hide what it already printed for no gain. Each cell of a release has a
**quantity id** that names the same population in every release and table:

* cells whose key holds a month keep their id: ``headline|2025-03``, ``flows|2025-03|cure``,
  ``multiborrowing|2025-03``, ``buckets|2025-03|1-29``; vintage cohorts (``vintage|2025-Q1``);
* cells of the release month only get it appended: ``segments|age_band|50+@2025-03``,
  ``lenders|1@2025-03``, ``rollrates|1-29|current@2025-03``;
* a roll-rate row is the previous month's bucket: ``rollrate_rows|1-29`` of the 2025-03 release
  is ``buckets|2025-02|1-29`` (the same accounts and balance at the end of February).

:func:`load` reads the published CSV files of every release up to a month (all versions) and
returns :class:`Earlier`: the ids hidden somewhere, and the exact figures printed for each id
(counts and CNY amounts as printed; counts behind a printed rate recovered from it).
:func:`reports.disclosure.protect` keeps the hidden ones hidden and treats a cell whose exact
figures equal those printed before as known to every reader.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from reports.cells import Cell
from reports.months import add_months, month_key

#: the figures compared: field of the current cell ← its exact value in an earlier CSV row
Figures = dict[str, Decimal]


@dataclass
class Earlier:
    """Decisions of earlier releases, by quantity id."""

    hidden: set[str] = field(default_factory=set)
    published: dict[str, list[Figures]] = field(default_factory=lambda: defaultdict(list))
    #: the releases read (``YYYY-MM vN``)
    releases: list[str] = field(default_factory=list)

    def known(self, qid: str, cell: Cell) -> bool:
        """Whether ``cell`` (id ``qid``) has exactly the figures an earlier release printed."""
        return any(
            f
            and all(
                name in cell.values and Decimal(cell.values[name]) == v for name, v in f.items()
            )
            for f in self.published.get(qid, [])
        )


def quantity_id(cell: Cell, month: str) -> str:
    """The id of ``cell``'s population in every release (see the module docstring)."""
    if cell.table in ("segments", "lenders", "rollrates"):
        return f"{cell.id}@{month}"
    if cell.table == "rollrate_rows":
        previous = month_key(add_months(_first(month), -1))
        return f"buckets|{previous}|{cell.key[0]}"
    return cell.id


def load(folders: list[tuple[str, Path]]) -> Earlier:
    """The decisions of the releases in ``folders`` (month, release folder), oldest first."""
    out = Earlier()
    for month, folder in folders:
        out.releases.append(f"{month} {folder.name}")
        tables = folder / "tables"
        for qid, figures in rows(tables, month):
            if figures is None:
                out.hidden.add(qid)
            elif figures not in out.published[qid]:
                out.published[qid].append(figures)
    return out


def rows(tables: Path, month: str) -> list[tuple[str, Figures | None]]:
    """(quantity id, exact figures or None when suppressed) for every row of a release."""
    out: list[tuple[str, Figures | None]] = []

    def read(name: str) -> list[dict[str, str]]:
        path = tables / f"{name}.csv"
        if not path.exists():
            return []
        with path.open(encoding="utf-8-sig", newline="") as f:  # as render.csvfiles writes
            return list(csv.DictReader(f))

    for r in read("headline"):
        out.append((f"headline|{r['month']}", _book(r)))
    for r in read("segments"):
        out.append((f"segments|{r['dimension']}|{r['value']}@{month}", _book(r)))
    for r in read("lenders"):
        out.append((f"lenders|{r['band']}@{month}", _book(r)))
    for r in read("buckets"):
        figures = _exact(r, {"accounts": "accounts", "balance": "balance_cny"})
        out.append((f"buckets|{month}|{r['bucket']}", figures))
    for r in read("multiborrowing"):
        out.append((f"multiborrowing|{r['month']}", _exact(r, {"borrowers": "active_borrowers"})))
    previous = month_key(add_months(_first(month), -1))
    rows: dict[str, Figures | None] = {}
    for r in read("rollrates"):
        qid = f"rollrates|{r['from_bucket']}|{r['to_state']}@{month}"
        out.append((qid, _part(r, "rate_accounts_pct", "from_accounts")))
        row = _exact(r, {"accounts": "from_accounts", "balance": "from_balance_cny"})
        if row is not None or r["from_bucket"] not in rows:
            rows[r["from_bucket"]] = row
    out += [(f"buckets|{previous}|{bucket}", figures) for bucket, figures in rows.items()]
    for r in read("flows"):
        out.append(
            (f"flows|{r['month']}|{r['kind']}", _part(r, "rate_accounts_pct", "base_accounts"))
        )
    cohorts: dict[str, Figures | None] = {}
    for r in read("vintage"):
        cohorts[r["cohort"]] = _exact(
            r, {"accounts": "cohort_accounts", "amount": "cohort_amount_cny"}
        )
    out += [(f"vintage|{cohort}", figures) for cohort, figures in cohorts.items()]
    return out


def _exact(row: dict[str, str], names: dict[str, str]) -> Figures | None:
    if row.get("flag"):
        return None
    try:
        return {name: Decimal(row[column]) for name, column in names.items()}
    except (InvalidOperation, KeyError):
        return {}  # published, but not as exact figures: known to be public, not comparable


def _book(row: dict[str, str]) -> Figures | None:
    """A book cell's exact figures: open accounts and balance, 30+ and 90+ accounts."""
    figures = _exact(row, {"open_accounts": "open_accounts", "open_balance": "open_balance_cny"})
    if not figures:
        return figures
    for days in ("30", "90"):
        count = _count(row.get(f"rate_{days}_accounts_pct", ""), figures["open_accounts"])
        if count is not None:
            figures[f"accounts_{days}"] = count
    return figures


def _part(row: dict[str, str], rate: str, base: str) -> Figures | None:
    """A count published as a rate of a published base: the count, recovered exactly."""
    if row.get("flag"):
        return None
    try:
        count = _count(row[rate], Decimal(row[base]))
    except (InvalidOperation, KeyError):
        return {}
    return {} if count is None else {"accounts": count}


def _count(rate: str, base: Decimal) -> Decimal | None:
    """``rate`` % of ``base``, to the nearest whole account (exact for bases under a million at
    the CSV's rounding)."""
    if not rate:
        return None
    return (Decimal(rate) * base / 100).to_integral_value()


def _first(ym: str) -> dt.date:
    return dt.date.fromisoformat(ym + "-01")
