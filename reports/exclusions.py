"""What a release's figures leave out: the records members sent that validation rejected.

Every rate of a release is over **accepted** records (the month-end states the warehouse holds).
A reader needs to know how much was set aside and why, so each release states, for every month of
its series, the records the members' files held, how many were rejected and the share, by **rule
family** — the classes of the rule catalogue (docs/rules.md: file, field, cross-field, within
file, history, across members). A month is the month of a file's ``as_of`` date (its control
file's); duplicates load nothing and are not counted twice. A record rejected with errors of
several families counts once in each family (the families do not add up to the total), every
record of a file rejected by a file-class error under *file*. Named query ``report_exclusions``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from reports.cells import percent
from reports.months import month_key
from reports.statistics import QuerySource

#: rule-code prefix → family name (English, Chinese), in the catalogue's order: the rule classes
#: of ``ingest.rules.CLASS_PREFIX`` (written out here: the public pages read this module and may
#: not depend on ingest; tests/test_reports_exclusions.py holds the two together)
FAMILIES: dict[str, tuple[str, str]] = {
    "F1": ("file", "文件"),
    "V2": ("field", "字段"),
    "X3": ("cross-field", "字段间"),
    "W4": ("within file", "文件内"),
    "H5": ("history", "历史"),
    "M6": ("across members", "跨机构"),
}


@dataclass
class MonthExclusions:
    month: str
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    #: family prefix → rejected records with an error of that family
    families: dict[str, int] = field(default_factory=dict)

    @property
    def share(self) -> Fraction | None:
        """Rejected records / records received (``None`` when no file was received)."""
        return Fraction(self.rejected, self.records) if self.records else None


@dataclass
class Exclusions:
    """The records rejected in each month of a release's series."""

    months: list[MonthExclusions]

    def of(self, month: str) -> MonthExclusions:
        return next((m for m in self.months if m.month == month), MonthExclusions(month))

    def total(self) -> MonthExclusions:
        out = MonthExclusions("all")
        for m in self.months:
            out.records += m.records
            out.accepted += m.accepted
            out.rejected += m.rejected
            for family, n in m.families.items():
                out.families[family] = out.families.get(family, 0) + n
        return out

    def csv_rows(self, decimals: int) -> list[list[str]]:
        """``exclusions.csv``: per month, the totals (family ``all``) then each family."""
        out = []
        for m in self.months:
            out.append(_row(m, "all", m.records, m.accepted, m.rejected, decimals))
            for prefix in FAMILIES:
                n = m.families.get(prefix, 0)
                out.append(_row(m, prefix, m.records, None, n, decimals))
        return out

    def manifest(self, month: str) -> dict[str, Any]:
        """The manifest's ``exclusions``: the release month and the whole series."""

        def body(m: MonthExclusions) -> dict[str, Any]:
            share = m.share
            return {
                "records": m.records,
                "accepted": m.accepted,
                "rejected": m.rejected,
                "rejected_pct": None if share is None else str(percent(share, 4)),
                "by_family": {FAMILIES[p][0]: m.families.get(p, 0) for p in FAMILIES},
            }

        return {
            "rates_over": "accepted records",
            "month": body(self.of(month)),
            "series": body(self.total()),
        }


HEADER = [
    "month",
    "rule_family",
    "label_en",
    "label_zh",
    "records_received",
    "records_accepted",
    "records_rejected",
    "rejected_pct",
]
#: the data dictionary's rows of ``exclusions.csv``: column, type, unit, English, Chinese, about
DICTIONARY = [
    ("month", "text", "", "Month", "月份", "month of the files' as_of date (control file), YYYY-MM"),
    ("rule_family", "text", "", "Rule family", "规则类别",
     "all (every record), or a rule-code prefix: F1 file, V2 field, X3 cross-field, W4 within "
     "file, H5 history, M6 across members (docs/rules.md)"),
    ("label_en", "text", "", "Label", "名称(英)", "English name of the family"),
    ("label_zh", "text", "", "标签", "名称", "Chinese name of the family"),
    ("records_received", "count", "records", "Records received", "报送记录数",
     "records in the members' files of the month (duplicates not counted again)"),
    ("records_accepted", "count", "records", "Records accepted", "接收记录数",
     "records loaded (family all only): every rate of the release is over these"),
    ("records_rejected", "count", "records", "Records rejected", "拒收记录数",
     "all: records rejected, each once; a family: rejected records with an error of it (a "
     "record can count in several families); a file rejected by a file-class error: all its "
     "records under F1"),
    ("rejected_pct", "pct", "percent", "Rejected, % of received", "拒收占比",
     "records rejected / records received"),
]  # fmt: skip


def load(wh: QuerySource, first: dt.date, month: dt.date) -> Exclusions:
    rows: list[dict[str, Any]] = wh.query("report_exclusions", first=first, month=month).dicts()
    by_month: dict[str, MonthExclusions] = {}
    for row in rows:
        key = month_key(row["month"])
        m = by_month.setdefault(key, MonthExclusions(key))
        if row["family"] == "":
            m.records, m.accepted = int(row["records"]), int(row["accepted"])
            m.rejected = int(row["rejected"])
        elif row["family"] in FAMILIES:
            m.families[row["family"]] = m.families.get(row["family"], 0) + int(row["rejected"])
    return Exclusions([by_month[k] for k in sorted(by_month)])


def _row(
    m: MonthExclusions,
    family: str,
    records: int,
    accepted: int | None,
    rejected: int,
    decimals: int,
) -> list[str]:
    en, zh = ("every record", "全部记录") if family == "all" else FAMILIES[family]
    share = "" if not records else str(percent(Fraction(rejected, records), decimals + 4))
    return [
        m.month,
        family,
        en,
        zh,
        str(records),
        "" if accepted is None else str(accepted),
        str(rejected),
        share,
    ]
