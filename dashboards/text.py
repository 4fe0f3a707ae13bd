"""The words of the public pages in English and Chinese: navigation, notes and definitions.

Labels of tables, columns and segment codes come from the release itself (its CSV label columns)
and from :mod:`reports.columns` / :mod:`reports.labels`; this module holds only what the pages
add. Definitions follow docs/reports.md §3 (the methodology every release states).
"""

from __future__ import annotations

from flask import g, has_request_context

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
    "map_title": Label("Provinces: {value}", "各省份：{value}"),
    "map_no_data": Label("no data", "无数据"),
    "map_schematic": Label(
        "Schematic tile grid, not a map: one square per provincial-level unit, placed roughly "
        "where it lies; it shows no boundaries.",
        "示意方块图，并非地图：每个省级行政区一个方块，按大致方位排列，不表示任何边界。",
    ),
    "map_approved": Label(
        "Province map supplied by the association (an approved standard map).",
        "省级行政区划图由协会提供（经审核的标准地图）。",
    ),
    "map_review": Label("Map review number: {number}.", "审图号：{number}。"),
    "map_colours": Label(
        "Colour: the rate of the release month. Grey: suppressed (not plotted). Light grey: no "
        "data published for the unit.",
        "颜色：发布月的比率。灰色：不予公布（不绘制）。浅灰色：该地区无公布数据。",
    ),
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
        "by count.",
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


#: the member portal's and operations console's words: English (the key, a ``str.format``
#: template) → Chinese. Data (member codes, rule codes and names, statuses, the exchange's own
#: refusal messages) are shown as they are. ``tests/test_dashboards_text.py`` checks that every
#: text the portal and console pass to :func:`tr` has its Chinese here.
AREA_ZH: dict[str, str] = {
    # navigation and frames
    "Submissions and receipts": "提交与回执",
    "Rejections and data quality": "拒收与数据质量",
    "Lookups, usage and bills": "查询、用量与账单",
    "API and SSH keys": "API与SSH密钥",
    "Files and rejections": "文件与拒收",
    "DQ league table": "数据质量排名",
    "Lookups": "查询",
    "Releases": "发布",
    "Members": "会员",
    "No such page.": "没有此页面。",
    "Member portal · {member}": "会员门户 · {member}",
    "Operations console · {user} ({role})": "运营控制台 · {user}（{role}）",
    "Member portal": "会员门户",
    "Operations console": "运营控制台",
    "Log in": "登录",
    "Log out": "退出登录",
    "Log in to see this page: ": "登录后查看此页面：",
    "log in": "登录",
    "This page is for {kind}; your login does not reach it.": "此页面仅供{kind}使用；您的登录无权访问。",
    "members' analysts": "会员机构分析人员",
    "association staff": "协会工作人员",
    # table headings shared by several pages
    "file": "文件",
    "status": "状态",
    "received": "接收时间",
    "as of": "数据日期",
    "records": "记录数",
    "accepted": "接受",
    "rejected": "拒收",
    "warnings": "警告",
    "DQ": "数据质量分",
    "receipt": "回执",
    "rule": "规则",
    "name": "名称",
    "severity": "严重程度",
    "field": "字段",
    "dimension": "维度",
    "pass rate": "通过率",
    "points if perfect": "全部通过可提升分数",
    "what to do": "改进建议",
    "month": "月份",
    "lookups": "查询次数",
    "amount": "金额",
    "statement": "对账单",
    "kind": "类型",
    "id": "编号",
    "detail": "详情",
    "created": "创建时间",
    "state": "状态",
    "member": "会员",
    "files": "文件数",
    "rate": "比率",
    "rank": "排名",
    "score": "得分",
    "requests": "请求数",
    "answered": "已应答",
    "refused": "被拒绝",
    "failed": "失败",
    "median ms": "中位数（毫秒）",
    "95th pct ms": "95分位（毫秒）",
    "version": "版本",
    "revisions": "修订",
    "code": "代码",
    "type": "类型",
    "reason": "原因",
    "none": "无",
    "members": "会员",
    # the portal
    "Files received": "已收文件",
    "Every file your member sent, newest first: its outcome, the records accepted and "
    "rejected, and its receipt (the same file as in your SFTP outbox).": "贵机构发送的每个文件（最新在前）：处理结果、接受与拒收的记录数及回执（与SFTP outbox中的文件相同）。",
    "No file received yet.": "尚未收到文件。",
    "{score}, rank {rank} of the {n} members with data (1: best)": "{score}，在有数据的{n}家会员中排第{rank}名（1为最佳）",
    "no data-quality figures in the window": "窗口期内无数据质量数据",
    "Rejected records by rule": "按规则统计的问题记录",
    "Records with an issue since {since} (errors reject the record, warnings do not), by "
    "rule; the chart shows the daily trend of the eight rules broken most.": "自{since}起有问题的记录（错误导致拒收，警告不拒收），按规则统计；图中为违反最多的八条规则的每日趋势。",
    "Records with issues per day, by rule": "每日有问题的记录（按规则）",
    "Rejected records by field": "按字段统计的问题记录",
    "Data-quality score against the industry": "数据质量得分与行业对比",
    "Your score over the last {days} days: {standing}. Threshold {threshold}; the chart is "
    "the distribution of every member's score (names withheld), yours marked.": "近{days}天贵机构得分：{standing}。阈值{threshold}；图为所有会员得分的分布（不显示名称），红线为贵机构。",
    "Members' DQ scores": "会员数据质量得分",
    "What would lift it": "如何提升",
    "Nothing to lift.": "无可提升项。",
    "Lookups per day": "每日查询量",
    "Your lookups over the last {days} days by product (a batch counts one per borrower), "
    "metered from the inquiry log as billed.": "近{days}天贵机构按产品统计的查询量（批量查询每个借款人计一次），按计费口径取自查询日志。",
    "Total: {n} lookups.": "合计：{n}次查询。",
    "Statements": "对账单",
    "This month so far and the two before, priced by the price list; download the "
    "statement as CSV or PDF.": "本月截至目前及前两个月，按价目表计价；可下载CSV或PDF格式的对账单。",
    "revoke": "吊销",
    "remove": "移除",
    "active": "有效",
    "revoked {when}": "已于{when}吊销",
    "Your keys": "贵机构的密钥",
    "API keys of your risk systems and SSH keys of your file uploads. Revoking takes effect "
    "at once; every change is recorded in the exchange's audit chain under your name.": "风控系统使用的API密钥和上传文件使用的SSH密钥。吊销即时生效；每次变更均以您的名义记入平台审计链。",
    "Issue an API key": "签发API密钥",
    "The token is shown once, here; the exchange keeps only its hash.": "令牌仅在此显示一次；平台只保存其哈希值。",
    "label (optional)": "标签（可选）",
    "Issue API key": "签发",
    "Add an SSH key": "添加SSH密钥",
    "Add SSH key": "添加",
    "API key {key} issued. Copy its token now; it is not shown again: ": "已签发API密钥{key}。请立即复制令牌，之后不再显示：",
    "SSH key {key} added.": "已添加SSH密钥{key}。",
    "{key} revoked.": "已吊销{key}。",
    # the console
    "late": "迟交",
    "missing": "缺失",
    "Files received against expected": "应收与实收文件",
    "Each active member is expected to report every day. Per member and reporting day (as "
    "of) over the {days} days up to the latest day reported: ✓ a file loaded, late — it came "
    "more than {timely} days after its as-of date, missing — none (a rejected file does not "
    "count).": "每个正常状态的会员应每日报送。按会员和报送日（数据日期），截至最近报送日的{days}天："
    "✓ 已加载文件；迟交——文件晚于数据日期{timely}天以上送达；缺失——无文件（被拒收的文件不计）。",
    "Rejection rates": "拒收率",
    "Records rejected of records received per member, last {days} days (duplicates not "
    "counted), highest first.": "近{days}天各会员拒收记录占收到记录的比例（重复文件不计），由高到低。",
    "Share of records rejected": "拒收记录占比",
    "Data-quality league table": "数据质量排名",
    "Each member's weighted DQ score over the last {days} days (the score reciprocity "
    "compares with its threshold), best first; members without files in the window last.": "近{days}天各会员的加权数据质量得分（互惠机制与阈值比较的得分），由高到低；窗口期内无文件的会员列于最后。",
    "Lookup volume": "查询量",
    "Lookups answered per day since {since} by product, from the inquiry log.": "自{since}起按产品统计的每日已应答查询量，取自查询日志。",
    "Refusals and latency": "拒绝与延迟",
    "Requests to the lookup routes (multi-loan, time series, batch) since {since} UTC: "
    "refused answers by error code and HTTP status and the time the server took (counted "
    "per minute and kept in the warehouse, so a restart loses nothing).": "自{since}（UTC）起对查询接口（共债、时间序列、批量）的请求：按错误代码和HTTP状态统计的拒绝应答，"
    "以及服务器耗时（按分钟计数并保存在数据仓库中，重启不丢失）。",
    "The lookup API's meter is not running here.": "此处未运行查询接口计量。",
    "(key not recognised)": "（密钥未识别）",
    "Every release on the shelf whose signature and files verify (a release that fails is "
    "not published on the public pages and not listed).": "签名与文件均通过核验的所有发布（未通过核验的发布不在公开页面发布，也不在此列出）。",
    "verified, published": "已核验，已发布",
    "Build a release": "生成发布",
    "Builds the month's release in the server as `jdx report build` does (statistics, "
    "disclosure control and its audit, seasonal adjustment, files, signed manifest); the "
    "latest month with data when no month is given. Recorded in the audit chain under your "
    "name.": "在服务器中生成该月的发布，与 `jdx report build` 相同（统计、信息披露控制及其审核、季节调整、"
    "文件、签名清单）；未指定月份时为有数据的最近月份。以您的名义记入审计链。",
    "YYYY-MM (optional)": "YYYY-MM（可选）",
    "Build release": "生成",
    "suspend": "暂停",
    "reinstate": "恢复",
    "Suspending a member refuses its SFTP logins, its API keys and its analysts' portal "
    "sessions at once; reinstating lets them in again. Both need the admin role and a reason "
    "for a suspension, and are recorded in the audit chain.": "暂停会员将立即拒绝其SFTP登录、API密钥及其分析人员的门户会话；恢复后可重新使用。两项操作均需管理员角色，"
    "暂停需填写原因，并记入审计链。",
    "reason for a suspension": "暂停原因",
    "{code} suspended.": "已暂停{code}。",
    "{code} reinstated.": "已恢复{code}。",
    "give the reason for the suspension first": "请先填写暂停原因",
    "{month} is not a month YYYY-MM": "{month}不是YYYY-MM格式的月份",
    "no such build": "没有此生成任务",
    "{what} by {actor}: {state}": "{what}（{actor}）：{state}",
    # the DQ dimensions and their advice (ingest.dq.ADVICE, in the DQ report the portal shows)
    "validity": "有效性",
    "completeness": "完整性",
    "consistency": "一致性",
    "timeliness": "及时性",
    "identity": "身份信息",
    "fix the rules listed under worst_rules; a record's failure stops counting once a corrected "
    "record with the same account_id and as_of_date is accepted": "修正worst_rules中列出的规则；"
    "同一account_id和as_of_date的更正记录被接受后，原记录的失败不再计入",
    "fill the required values listed under worst_fields (consent_ref, closed_date of ended "
    "accounts, negative_notice_date when dpd first turns positive)": "填写worst_fields中列出的必填值"
    "（consent_ref、已结束账户的closed_date、dpd首次转正时的negative_notice_date）",
    "keep each account's history consistent: dpd grows at most by the days elapsed; to change an "
    "account's identity send D, then A": "保持每个账户的历史一致：dpd的增长不超过经过的天数；"
    "如需更改账户的身份信息，请先报送D记录，再报送A记录",
    "send each day's file by the deadline (timely_days after its as_of, China Standard Time) and "
    "leave no reporting gap longer than max_report_gap_days": "在截止时间前报送每日文件（as_of之后"
    "timely_days天内，北京时间），且报送间隔不超过max_report_gap_days",
    "check the names you report against the borrowers' identity documents": "请根据借款人的身份证件"
    "核对所报送的姓名",
}


def tr(text: str, lang: str | None = None, **values: object) -> str:
    """The portal's or console's ``text`` in ``lang`` (default: the request's, ``flask.g.lang``,
    which the page callback and the session set), with ``{name}`` fields filled in."""
    if lang is None:
        lang = str(getattr(g, "lang", "en") or "en") if has_request_context() else "en"
    out = AREA_ZH.get(text, text) if lang == "zh" else text
    return out.format(**values) if values else out
