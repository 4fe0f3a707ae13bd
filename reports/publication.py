"""What a release publishes: the tables of figures after disclosure control, ready to render.

:func:`publish` turns :class:`~reports.statistics.Statistics` and the
:class:`~reports.disclosure.Protection` into :class:`Table` objects — the same rows feed the CSV
files, the HTML/PDF tables and the charts, so no output can show a figure another hides. Values
stay exact (``Fraction`` rates, ``Decimal`` CNY, ``int`` counts) until :mod:`reports.render.fmt`
prints them; a suppressed cell's row keeps only its key columns and the flag ``x``.

The column catalogue (:mod:`reports.columns`) names, types and documents every column; the data
dictionary of a release is generated from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from reports import columns as cols
from reports.cells import Cell, wilson
from reports.disclosure import Protection
from reports.dynamics import flow_denominator, vintage_points
from reports.labels import BUCKET_LABELS, STATE_LABELS, label
from reports.months import add_months, month_key
from reports.seasonal import Adjusted, adjust
from reports.statistics import Statistics

SUPPRESSED = "x"
#: the four headline series that are seasonally adjusted: (column stem, numerator, denominator)
SA_SERIES = (
    ("rate_30_accounts", "accounts_30", "open_accounts"),
    ("rate_30_balance", "balance_30", "open_balance"),
    ("rate_90_accounts", "accounts_90", "open_accounts"),
    ("rate_90_balance", "balance_90", "open_balance"),
)


@dataclass
class Table:
    """One published table: its columns (see :mod:`reports.columns`) and rows of exact values."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def spec(self) -> cols.TableSpec:
        return cols.TABLES[self.name]

    def add(self, cell: Cell | None, published: bool, keys: dict[str, Any], values: Any) -> None:
        """A row: key columns always, the figures only when the cell is published."""
        row = dict(keys)
        row["_cell"] = cell.id if cell else ""
        if published:
            row.update(values() if callable(values) else values)
            row["flag"] = ""
        else:
            row["flag"] = SUPPRESSED
        self.rows.append(row)


@dataclass
class Publication:
    """Every table of one release month, its seasonal adjustment and disclosure counts."""

    stats: Statistics
    protection: Protection
    tables: dict[str, Table]
    seasonal: dict[str, Adjusted]
    confidence: float

    @property
    def month(self) -> dt.date:
        return self.stats.month

    def row(self, table: str, **keys: str) -> dict[str, Any] | None:
        for row in self.tables[table].rows:
            if all(row.get(k) == v for k, v in keys.items()):
                return row
        return None


def _ci(num: int, den: int, confidence: float) -> tuple[float, float]:
    low, high = wilson(num, den, confidence) if den > 0 else (float("nan"), float("nan"))
    return low, high


def _rates(cell: Cell, confidence: float, stem: str, num: str, den: str) -> dict[str, Any]:
    """``<stem>_pct`` = num / den; count-based rates also get their Wilson interval."""
    out: dict[str, Any] = {f"{stem}_pct": cell.rate(num, den)}
    if not stem.endswith("balance"):
        low, high = _ci(int(cell[num]), int(cell[den]), confidence)
        out[f"{stem}_low_pct"], out[f"{stem}_high_pct"] = Fraction(low), Fraction(high)
    return out


def _book_values(cell: Cell, confidence: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "open_accounts": cell["open_accounts"],
        "open_balance_cny": cell["open_balance"],
    }
    for days in ("30", "90"):
        out |= _rates(
            cell, confidence, f"rate_{days}_accounts", f"accounts_{days}", "open_accounts"
        )
        out |= _rates(cell, confidence, f"rate_{days}_balance", f"balance_{days}", "open_balance")
    return out


def publish(
    stats: Statistics,
    protection: Protection,
    *,
    confidence: float = 0.95,
    x13_path: Path | None = None,
    festival: tuple[int, int] = (7, 7),
) -> Publication:
    """Build every published table of ``stats`` under ``protection``."""
    ok = protection.published
    conf = confidence
    tables = {name: Table(name) for name in cols.TABLES}
    headline = stats.table("headline")

    seasonal = _seasonal(stats, protection, x13_path, festival)
    for (ym,), cell in headline.items():
        sa = {
            f"{stem}_sa_pct": Fraction(adj.sa[adj.months.index(_first(ym))]) / 100
            for stem, adj in seasonal.items()
            if adj.sa is not None
        }
        tables["headline"].add(
            cell, ok(cell.id), {"month": ym}, lambda c=cell, sa=sa: _book_values(c, conf) | sa
        )

    total = headline.get((stats.key,))
    for (_, bucket), cell in stats.table("buckets").items():
        assert total is not None
        tables["buckets"].add(
            cell,
            ok(cell.id),
            {"bucket": bucket, **_names(BUCKET_LABELS[bucket])},
            lambda c=cell: {
                "accounts": c["accounts"],
                "balance_cny": c["balance"],
                "share_accounts_pct": Fraction(int(c["accounts"]), int(total["open_accounts"])),
                "share_balance_pct": Fraction(c["balance"]) / Fraction(total["open_balance"]),
            },
        )

    for (dimension, value), cell in stats.table("segments").items():
        keys = {"dimension": dimension, "value": value, **_names(label(dimension, value))}
        tables["segments"].add(cell, ok(cell.id), keys, lambda c=cell: _book_values(c, conf))

    for (ym,), cell in stats.table("multiborrowing").items():
        tables["multiborrowing"].add(
            cell,
            ok(cell.id),
            {"month": ym},
            lambda c=cell: {
                "active_borrowers": c["borrowers"],
                **_rates(c, conf, "share_3_plus", "lenders_3", "borrowers"),
                **_rates(c, conf, "share_5_plus", "lenders_5", "borrowers"),
            },
        )

    for (band,), cell in stats.table("lenders").items():
        tables["lenders"].add(
            cell,
            ok(cell.id),
            {"band": band, **_names(label("lenders", band))},
            lambda c=cell: {"borrowers": c["borrowers"], **_book_values(c, conf)},
        )

    _dynamics(stats, protection, tables, conf)
    return Publication(stats, protection, tables, seasonal, confidence)


def _dynamics(
    stats: Statistics, protection: Protection, tables: dict[str, Table], conf: float
) -> None:
    ok = protection.published
    rows = stats.table("rollrate_rows")
    for (start, end), cell in stats.table("rollrates").items():
        base = rows[(start,)]
        tables["rollrates"].add(
            cell,
            ok(cell.id),
            {
                "from_bucket": start,
                "to_state": end,
                "from_en": BUCKET_LABELS[start].en,
                "to_en": STATE_LABELS[end].en,
                "from_zh": BUCKET_LABELS[start].zh,
                "to_zh": STATE_LABELS[end].zh,
            },
            lambda c=cell, b=base: {
                "from_accounts": b["accounts"],
                "from_balance_cny": b["balance"],
                "rate_accounts_pct": Fraction(c["accounts"], b["accounts"]),
                "rate_balance_pct": _div(c["balance"], b["balance"]),
            },
        )
    headline = stats.table("headline")
    for (ym, kind), cell in stats.table("flows").items():
        before = headline.get((month_key(add_months(_first(ym), -1)),))
        keys = {"month": ym, "kind": kind, **_names(cols.FLOW_LABELS[kind])}

        def values(c: Cell = cell, h: Cell | None = before, k: str = kind) -> dict[str, Any]:
            assert h is not None  # a flow is published only with the previous headline
            den_n = int(flow_denominator(k, h, "accounts"))
            den_b = flow_denominator(k, h, "balance")
            low, high = _ci(int(c["accounts"]), den_n, conf)
            return {
                "base_accounts": den_n,
                "base_balance_cny": den_b,
                "rate_accounts_pct": Fraction(int(c["accounts"]), den_n) if den_n else None,
                "rate_accounts_low_pct": Fraction(low),
                "rate_accounts_high_pct": Fraction(high),
                "rate_balance_pct": _div(c["balance"], den_b),
            }

        tables["flows"].add(cell, ok(cell.id) and before is not None, keys, values)
    for (cohort,), cell in stats.table("vintage").items():
        for mob in vintage_points(cell):
            tables["vintage"].add(
                cell,
                ok(cell.id),
                {"cohort": cohort, "months_on_book": mob},
                lambda c=cell, k=mob: {
                    "cohort_accounts": c["accounts"],
                    "cohort_amount_cny": c["amount"],
                    "ever_30_accounts_pct": Fraction(c[f"accounts_30@{k}"], c["accounts"]),
                    "ever_30_amount_pct": _div(c[f"amount_30@{k}"], c["amount"]),
                    "ever_90_accounts_pct": Fraction(c[f"accounts_90@{k}"], c["accounts"]),
                    "ever_90_amount_pct": _div(c[f"amount_90@{k}"], c["amount"]),
                },
            )


def _seasonal(
    stats: Statistics, protection: Protection, x13_path: Path | None, festival: tuple[int, int]
) -> dict[str, Adjusted]:
    """SA of the four headline rates — only if every month of the series is published."""
    cells = list(stats.table("headline").values())
    months = [_first(c.key[0]) for c in cells]
    hidden = [c for c in cells if not protection.published(c.id)]
    out = {}
    for stem, num, den in SA_SERIES:
        values = [float(c.rate(num, den) or 0) * 100 for c in cells]
        if hidden:
            out[stem] = Adjusted(
                tuple(months),
                tuple(values),
                None,
                "none",
                "Not seasonally adjusted: months of the series are suppressed by disclosure control.",
            )
        else:
            out[stem] = adjust(
                months, values, x13_path=x13_path, before=festival[0], after=festival[1]
            )
    return out


def _first(ym: str) -> dt.date:
    return dt.date.fromisoformat(ym + "-01")


def _div(num: Any, den: Any) -> Fraction | None:
    return None if den == 0 else Fraction(num) / Fraction(den)


def _names(lab: Any) -> dict[str, str]:
    return {"label_en": lab.en, "label_zh": lab.zh}
