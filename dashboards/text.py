"""The words of the public pages in English and Chinese: navigation, notes and definitions.

Labels of tables, columns and segment codes come from the release itself (its CSV label columns)
and from :mod:`reports.columns` / :mod:`reports.labels`; this module holds only what the pages
add. Definitions follow docs/reports.md §3 (the methodology every release states).
"""

from __future__ import annotations

from reports.labels import Label

LANGUAGES = ("en", "zh")

UI: dict[str, Label] = {
    "title": Label("Industry delinquency statistics", "行业逾期统计"),
    "subtitle": Label(
        "Published monthly releases of the joint-debt credit-data exchange",
        "共债信息共享平台月度发布数据",
    ),
    "nav_headline": Label("Headline rates", "主要指标"),
    "nav_segments": Label("Segments", "分组"),
    "nav_dynamics": Label("Roll rates, flows, vintages", "迁徙、转入与账龄"),
    "nav_borrowing": Label("Multi-borrowing", "共债"),
    "nav_about": Label("Method and definitions", "方法与定义"),
    "release": Label("Release", "发布版本"),
    "language": Label("Language", "语言"),
    "no_release": Label(
        "No release has been published yet (jdx report build publishes one).",
        "尚无已发布的数据（由 jdx report build 发布）。",
    ),
    "unknown_page": Label("No such page.", "没有此页面。"),
    "no_data": Label("This release publishes no figure for this chart.", "本期发布无此图数据。"),
    "download": Label("Download CSV", "下载CSV"),
    "suppressed": Label("Suppressed", "不予公布"),
    "suppressed_none": Label("No cell of this chart is suppressed.", "本图无不予公布的单元。"),
    "suppressed_reason": Label(
        "withheld by disclosure control: fewer than {n} institutions contribute to its "
        "denominator, or one holds more than {share} of it (accounts or balance), or it is "
        "hidden so that such a cell cannot be worked out from the published totals",
        "因信息披露控制不予公布：分母涉及的机构少于{n}家，或单一机构占分母（账户数或余额）超过"
        "{share}，或为防止由已公布合计推算出此类单元而一并隐藏",
    ),
    "by_count": Label("by number of accounts", "按账户数"),
    "by_balance": Label("by outstanding balance", "按余额"),
    "sa": Label("seasonally adjusted", "季节调整后"),
    "wilson": Label("95 % Wilson interval", "95% Wilson 置信区间"),
    "revised": Label("revised in this version", "本版修订"),
    "revisions_title": Label("Revisions in this release", "本版修订"),
    "revisions_none": Label("This release revises no published figure.", "本版未修订已发布数据。"),
    "revisions_count": Label(
        "{n} figure(s) differ from {previous} (listed below; highlighted in the charts).",
        "与 {previous} 相比有 {n} 项数据不同（见下表，图中已标出）。",
    ),
    "first_release": Label("first release", "首次发布"),
    "month": Label("Month", "月份"),
    "rate_pct": Label("Rate, %", "比率（%）"),
    "months_on_book": Label("Months on book", "账龄（月）"),
    "released": Label("Published", "发布时间"),
    "data_as_of": Label("Data as of", "数据截至"),
    "institutions": Label("Reporting institutions", "报送机构数"),
    "series": Label("Series", "序列"),
    "audit_head": Label("Audit chain head", "审计链头"),
    "signature": Label(
        "Signature and file checksums verified against the release manifest.",
        "已核验发布清单的签名与文件校验值。",
    ),
    "disclosure": Label("Disclosure control", "信息披露控制"),
    "disclosure_counts": Label(
        "{cells} cells; {primary} suppressed by the rule, {secondary} to protect them.",
        "共{cells}个单元；{primary}个按规则不予公布，{secondary}个为保护其一并隐藏。",
    ),
    "seasonal": Label("Seasonal adjustment", "季节调整"),
    "dictionary": Label("Data dictionary", "数据字典"),
    "table": Label("Table", "表"),
    "column": Label("Column", "列"),
    "key": Label("Row", "行"),
    "previous": Label("Previous", "原值"),
    "current": Label("Current", "现值"),
    "change": Label("Change", "变动"),
    "note": Label("Note", "说明"),
    "from": Label("From (previous month end)", "上月末状态"),
    "to": Label("To (this month end)", "本月末状态"),
    "cohort": Label("Cohort", "放款季度"),
}

#: one definition under each chart (docs/reports.md §3)
DEFINITIONS: dict[str, Label] = {
    "headline": Label(
        "30+ (90+): open accounts at least 30 (90) days past due at month end. By count: those "
        "accounts / open accounts (NORMAL or OVERDUE) at month end, with a 95 % Wilson interval. "
        "By balance: their outstanding balance / the open balance. Seasonally adjusted series "
        "(X-13ARIMA-SEATS with a Spring Festival regressor, or STL) are drawn dashed where "
        "published.",
        "逾期30（90）天以上：月末逾期天数不少于30（90）天的在贷账户。按账户数：此类账户数 / 月末在贷"
        "账户数（正常或逾期），附95% Wilson区间。按余额：其未偿余额 / 在贷余额。公布季节调整值"
        "（含春节效应的X-13ARIMA-SEATS，或STL）时以虚线表示。",
    ),
    "buckets": Label(
        "Open book of the release month by days past due: current (0), 1–29, 30–59, 60–89, "
        "90–179, 180+; share of open accounts and of open balance.",
        "发布月末在贷账户按逾期天数分布：未逾期（0天）、1–29、30–59、60–89、90–179、180天以上；"
        "占在贷账户数及在贷余额的比例。",
    ),
    "segments": Label(
        "Delinquency rates of the release month by segment, same definitions as the headline "
        "rates; the denominator is the segment's open book.",
        "发布月分组逾期率，定义同主要指标；分母为该组的在贷账户（余额）。",
    ),
    "province": Label(
        "Province: GB/T 2260 code as reported, or from the ID number. Sorted by the 30+ rate "
        "by count (a map needs a boundary file the project does not ship).",
        "省份：报送的GB/T 2260代码，或由身份证号码推得。按账户数逾期30天以上比率排序。",
    ),
    "rollrates": Label(
        "Roll rates: of the open accounts in a bucket at the previous month end, the share in "
        "each state at this month end, by number of accounts or by their balance at the previous "
        "month end. Each row adds up to 100 %.",
        "迁徙率：上月末处于某逾期段的在贷账户中，本月末处于各状态的比例，按账户数或按其上月末余额计。"
        "每行合计100%。",
    ),
    "flows": Label(
        "Flow into 30+ (90+): of the accounts open and under 30 (90) dpd at the previous month "
        "end, the share 30+ (90+) or written off at this month end. Cure: of the accounts 30+ "
        "at the previous month end, the share current or paid in full now.",
        "转入率：上月末在贷且逾期不足30（90）天的账户中，本月末逾期30（90）天以上或核销的比例。"
        "回归率：上月末逾期30天以上的账户中，本月末恢复正常或结清的比例。",
    ),
    "vintage": Label(
        "Vintage curves: of the accounts opened in a quarter, the share that had been 30+ (90+) "
        "dpd or written off at some month end up to each month on book (0 = opening month).",
        "账龄曲线：某季度放款的账户中，截至各账龄（0 = 放款当月）曾于某月末逾期30（90）天以上或"
        "核销的比例。",
    ),
    "multiborrowing": Label(
        "Active borrowers: borrowers with an open account at month end. Prevalence: those with "
        "open accounts at 3 or more (5 or more) distinct institutions / active borrowers.",
        "在贷借款人：月末至少有一个在贷账户的借款人。共债比例：在3家（5家）及以上机构有在贷账户的"
        "借款人 / 在贷借款人。",
    ),
    "lenders": Label(
        "Delinquency of the release month by the borrower's number of institutions with an "
        "open account.",
        "发布月按借款人有在贷账户的机构数分组的逾期率。",
    ),
}


def t(key: str, lang: str, **values: object) -> str:
    """The text ``key`` in ``lang`` (``en`` or ``zh``), with ``{name}`` fields filled in."""
    label = UI.get(key) or DEFINITIONS[key]
    text = label.zh if lang == "zh" else label.en
    return text.format(**values) if values else text


def pick(label: Label, lang: str) -> str:
    return label.zh if lang == "zh" else label.en
