"""The catalogue of published tables and columns: names, types, units and meanings.

Every CSV file of a release, its data dictionary (``data_dictionary.csv``) and the HTML tables
are generated from :data:`TABLES`, so a column cannot be published without a definition.
Column kinds: ``text``; ``count`` (integer: accounts or borrowers); ``months`` (integer);
``cny`` (yuan, 2 decimals); ``pct`` (a share in percent, computed exactly and rounded half up
— ``[reports] decimals`` + 4 places in CSV, ``decimals`` in HTML/PDF); ``est`` (a model estimate in percent: confidence limits, seasonally
adjusted values — same rounding); ``flag`` (``x`` = suppressed by disclosure control).
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.labels import Label


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    en: str
    zh: str
    about: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: Label
    keys: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


FLOW_LABELS = {
    "flow30": Label("Flow into 30+ dpd", "转入逾期30天以上"),
    "flow90": Label("Flow into 90+ dpd", "转入逾期90天以上"),
    "cure": Label("Cure rate (30+ dpd to current)", "逾期30天以上回归正常"),
}

_FLAG = Column(
    "flag", "flag", "Flag", "标记", "x: suppressed by disclosure control (values left empty)"
)
_MONTH = Column("month", "text", "Month", "月份", "reference month YYYY-MM (state at month end)")
_LABELS = (
    Column("label_en", "text", "Label", "名称(英)", "English label of the row"),
    Column("label_zh", "text", "标签", "名称", "Chinese label of the row"),
)


def _rate(stem: str, en: str, zh: str, about: str, ci: bool = False) -> tuple[Column, ...]:
    out = [Column(f"{stem}_pct", "pct", en, zh, about)]
    if ci:
        out += [
            Column(
                f"{stem}_low_pct",
                "est",
                f"{en}, lower",
                f"{zh}下限",
                "Wilson interval, lower limit",
            ),
            Column(
                f"{stem}_high_pct",
                "est",
                f"{en}, upper",
                f"{zh}上限",
                "Wilson interval, upper limit",
            ),
        ]
    return tuple(out)


_BOOK = (
    Column(
        "open_accounts",
        "count",
        "Open accounts",
        "在贷账户数",
        "accounts NORMAL or OVERDUE at month end",
    ),
    Column(
        "open_balance_cny",
        "cny",
        "Open balance (CNY)",
        "在贷余额（元）",
        "outstanding principal of the open accounts",
    ),
    *_rate(
        "rate_30_accounts",
        "30+ dpd, % of accounts",
        "逾期30天以上账户占比",
        "open accounts with dpd >= 30 / open accounts",
        ci=True,
    ),
    *_rate(
        "rate_30_balance",
        "30+ dpd, % of balance",
        "逾期30天以上余额占比",
        "their balance / open balance",
    ),
    *_rate(
        "rate_90_accounts",
        "90+ dpd, % of accounts",
        "逾期90天以上账户占比",
        "open accounts with dpd >= 90 / open accounts",
        ci=True,
    ),
    *_rate(
        "rate_90_balance",
        "90+ dpd, % of balance",
        "逾期90天以上余额占比",
        "their balance / open balance",
    ),
)
_SA = tuple(
    Column(
        f"{stem}_sa_pct",
        "est",
        f"{en}, seasonally adjusted",
        f"{zh}（季调）",
        "seasonally adjusted value; method in seasonal.csv",
    )
    for stem, en, zh in (
        ("rate_30_accounts", "30+ % of accounts", "逾期30天以上账户占比"),
        ("rate_30_balance", "30+ % of balance", "逾期30天以上余额占比"),
        ("rate_90_accounts", "90+ % of accounts", "逾期90天以上账户占比"),
        ("rate_90_balance", "90+ % of balance", "逾期90天以上余额占比"),
    )
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "headline",
            Label("Delinquency rates, industry", "全行业逾期率"),
            ("month",),
            (_MONTH, *_BOOK, *_SA, _FLAG),
        ),
        TableSpec(
            "buckets",
            Label("Open book by days past due", "按逾期天数分布"),
            ("bucket",),
            (
                Column(
                    "bucket",
                    "text",
                    "Bucket",
                    "逾期段",
                    "dpd bucket: current, 1-29, 30-59, 60-89, 90-179, 180+",
                ),
                *_LABELS,
                Column("accounts", "count", "Accounts", "账户数", "open accounts in the bucket"),
                Column(
                    "balance_cny", "cny", "Balance (CNY)", "余额（元）", "their outstanding balance"
                ),
                Column(
                    "share_accounts_pct",
                    "pct",
                    "% of accounts",
                    "账户占比",
                    "accounts / open accounts",
                ),
                Column(
                    "share_balance_pct", "pct", "% of balance", "余额占比", "balance / open balance"
                ),
                _FLAG,
            ),
        ),
        TableSpec(
            "segments",
            Label("Delinquency by segment", "分组逾期率"),
            ("dimension", "value"),
            (
                Column(
                    "dimension",
                    "text",
                    "Dimension",
                    "维度",
                    "member_type, product, province, age_band, size_band",
                ),
                Column(
                    "value",
                    "text",
                    "Segment",
                    "分组",
                    "code of the segment (see docs/reports.md for bands)",
                ),
                *_LABELS,
                *_BOOK,
                _FLAG,
            ),
        ),
        TableSpec(
            "multiborrowing",
            Label("Multi-borrowing prevalence", "共债（多头借贷）比例"),
            ("month",),
            (
                _MONTH,
                Column(
                    "active_borrowers",
                    "count",
                    "Active borrowers",
                    "在贷借款人数",
                    "borrowers with at least one open account",
                ),
                *_rate(
                    "share_3_plus",
                    "Borrowers with 3+ institutions, %",
                    "3家及以上机构借款人占比",
                    "active borrowers with open accounts at >= 3 institutions / active borrowers",
                    ci=True,
                ),
                *_rate(
                    "share_5_plus",
                    "Borrowers with 5+ institutions, %",
                    "5家及以上机构借款人占比",
                    "the same for >= 5 institutions",
                    ci=True,
                ),
                _FLAG,
            ),
        ),
        TableSpec(
            "lenders",
            Label("Delinquency by number of lenders", "按借款机构数分组逾期率"),
            ("band",),
            (
                Column(
                    "band",
                    "text",
                    "Institutions",
                    "机构数",
                    "the borrower's institutions with an open account: 1, 2, 3-4, 5+",
                ),
                *_LABELS,
                Column(
                    "borrowers", "count", "Borrowers", "借款人数", "active borrowers in the band"
                ),
                *_BOOK,
                _FLAG,
            ),
        ),
        TableSpec(
            "rollrates",
            Label("Roll rates from last month", "迁徙率（较上月）"),
            ("from_bucket", "to_state"),
            (
                Column(
                    "from_bucket",
                    "text",
                    "From",
                    "上月逾期段",
                    "bucket at the previous month end (open accounts)",
                ),
                Column(
                    "to_state",
                    "text",
                    "To",
                    "本月状态",
                    "state at this month end: a bucket, closed, settled, written_off, transferred, not_reported",
                ),
                Column(
                    "from_en", "text", "From (label)", "上月（英）", "English label of from_bucket"
                ),
                Column("to_en", "text", "To (label)", "本月（英）", "English label of to_state"),
                Column("from_zh", "text", "上月", "上月", "Chinese label of from_bucket"),
                Column("to_zh", "text", "本月", "本月", "Chinese label of to_state"),
                Column(
                    "from_accounts",
                    "count",
                    "Accounts in row",
                    "上月账户数",
                    "accounts in from_bucket at the previous month end",
                ),
                Column(
                    "from_balance_cny",
                    "cny",
                    "Balance in row (CNY)",
                    "上月余额（元）",
                    "their balance at the previous month end",
                ),
                Column(
                    "rate_accounts_pct",
                    "pct",
                    "% of accounts",
                    "账户迁徙率",
                    "accounts moving to to_state / accounts in row",
                ),
                Column(
                    "rate_balance_pct",
                    "pct",
                    "% of balance",
                    "余额迁徙率",
                    "their previous balance / balance in row",
                ),
                _FLAG,
            ),
        ),
        TableSpec(
            "flows",
            Label("Flows into delinquency and cures", "逾期转入率与回归率"),
            ("month", "kind"),
            (
                _MONTH,
                Column(
                    "kind",
                    "text",
                    "Measure",
                    "指标",
                    "flow30, flow90 or cure (definitions in docs/reports.md)",
                ),
                *_LABELS,
                Column(
                    "base_accounts",
                    "count",
                    "Base accounts",
                    "基数账户数",
                    "accounts under 30 (flow30), under 90 (flow90) or 30+ (cure) dpd at the previous month end",
                ),
                Column(
                    "base_balance_cny",
                    "cny",
                    "Base balance (CNY)",
                    "基数余额（元）",
                    "their balance at the previous month end",
                ),
                *_rate(
                    "rate_accounts",
                    "% of accounts",
                    "账户比例",
                    "accounts that moved / base accounts",
                    ci=True,
                ),
                *_rate(
                    "rate_balance",
                    "% of balance",
                    "余额比例",
                    "their previous balance / base balance",
                ),
                _FLAG,
            ),
        ),
        TableSpec(
            "vintage",
            Label("Vintage curves", "账龄曲线"),
            ("cohort", "months_on_book"),
            (
                Column(
                    "cohort",
                    "text",
                    "Origination quarter",
                    "放款季度",
                    "quarter of opened_date, YYYY-Qn",
                ),
                Column(
                    "months_on_book",
                    "months",
                    "Months on book",
                    "账龄（月）",
                    "months since the opening month (0 = opening month)",
                ),
                Column(
                    "cohort_accounts",
                    "count",
                    "Accounts opened",
                    "放款账户数",
                    "accounts of the cohort",
                ),
                Column(
                    "cohort_amount_cny",
                    "cny",
                    "Amount opened (CNY)",
                    "放款金额（元）",
                    "their credit amount",
                ),
                Column(
                    "ever_30_accounts_pct",
                    "pct",
                    "Ever 30+, % of accounts",
                    "曾逾期30天以上账户占比",
                    "accounts 30+ (or written off) at some month end up to this age / accounts opened",
                ),
                Column(
                    "ever_30_amount_pct",
                    "pct",
                    "Ever 30+, % of amount",
                    "曾逾期30天以上金额占比",
                    "their credit amount / amount opened",
                ),
                Column(
                    "ever_90_accounts_pct",
                    "pct",
                    "Ever 90+, % of accounts",
                    "曾逾期90天以上账户占比",
                    "the same for 90+",
                ),
                Column(
                    "ever_90_amount_pct",
                    "pct",
                    "Ever 90+, % of amount",
                    "曾逾期90天以上金额占比",
                    "the same for 90+",
                ),
                _FLAG,
            ),
        ),
    )
}
