"""A person's own full report (self-inquiry): what the exchange holds on them, lenders named.

Unlike a member's lookup, nothing is anonymised for the person: every account with the lender's
name, its 24-month grid (the time-series codes), every inquiry with the inquirer's name, purpose
and time (China time), the disputes the person opened, and the earlier self-reports. The identity
appears only masked (``11**************3X``). :func:`document` builds the JSON; :func:`html` the
page the PDF is printed from (CJK fonts); :func:`produce` makes, records and writes one report —
used by ``jdx rights self-report`` (:mod:`runtime.commands`) and the staff API
(:mod:`products.routes_staff`). The PDF printer is given by the caller (the composition root
passes the releases' weasyprint writer), so this module depends on no renderer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from exchange.domain import CST
from exchange.errors import InvalidInput
from exchange.settings import Settings
from products.lookups import time_series
from products.lookups.borrower import BorrowerData, fetch, today_cst
from products.settings import ApiSettings

PdfWriter = Callable[[str, Path, Path], Path]

PURPOSES_ZH = {"LOAN_APPROVAL": "贷款审批", "CREDIT_REVIEW": "授信审查", "POST_LOAN": "贷后管理",
               "GUARANTEE_REVIEW": "担保资格审查"}  # fmt: skip


class _Named:
    """Labels for :func:`products.lookups.time_series.report`: the lender's real name."""

    def __init__(self, names: dict[str, str], data: BorrowerData) -> None:
        self._names = names
        self._types = {q.member_code: q.member_type for q in data.inquiries}
        self._types.update({a.member_code: a.member_type for a in data.accounts})

    def of(self, member_code: str) -> dict[str, Any]:
        name = self._names.get(member_code, member_code)
        return {"label": name, "label_en": name, "type": self._types.get(member_code, ""),
                "own": True}  # fmt: skip


def document(
    data: BorrowerData,
    *,
    names: dict[str, str],
    masked_id: str,
    reference: str,
    produced_at: dt.datetime,
    fee: str,
    currency: str,
    disputes: Iterable[dict[str, Any]],
    earlier: Iterable[dt.datetime],
) -> dict[str, Any]:
    """The self-report as JSON-able data (see the module doc)."""
    grid = time_series.report(data, _Named(names, data), own_member="")  # type: ignore[arg-type]
    by_key = {(a.member_code, a.account_id): a for a in data.accounts}
    accounts = []
    for a, g in zip(data.accounts, grid["accounts"], strict=True):
        accounts.append({
            "lender": names.get(a.member_code, a.member_code), "lender_code": a.member_code,
            "account_id": a.account_id, "product": a.product,
            "opened_date": a.opened.isoformat(), "credit_amount": g["credit_amount"],
            "balance": f"{a.balance:.2f}", "overdue_amount": f"{a.overdue_amount:.2f}",
            "dpd": a.dpd, "status": a.status, "as_of": a.as_of.isoformat(),
            "closed_date": a.closed.isoformat() if a.closed else None,
            "under_dispute": (a.member_code, a.account_id) in data.disputed,
            "grid": g["grid"], "months": g["months"],
        })  # fmt: skip
    assert len(by_key) == len(accounts)
    inquiries = [
        {"time": q.queried_at.astimezone(CST).isoformat(timespec="seconds"),
         "inquirer": names.get(q.member_code, q.member_code), "inquirer_type": q.member_type,
         "product": q.product, "purpose": q.purpose}
        for q in sorted(data.inquiries, key=lambda q: q.queried_at, reverse=True)
    ]  # fmt: skip
    return {
        "reference": reference,
        "produced_at": produced_at.astimezone(CST).isoformat(timespec="seconds"),
        "as_of": data.as_of.isoformat(),
        "person": {"id": masked_id},
        "fee": {"amount": fee, "currency": currency},
        "months": grid["months"],
        "accounts": accounts,
        "inquiries": inquiries,
        "disputes": list(disputes),
        "earlier_self_reports": [t.astimezone(CST).isoformat(timespec="seconds") for t in earlier],
    }


def html(doc: dict[str, Any]) -> str:
    """The printable page of :func:`document` (Chinese and English headings)."""
    e = escape
    rows = (
        "".join(
            f"<tr><td>{e(a['lender'])}</td><td>{e(a['account_id'])}</td><td>{e(a['product'])}</td>"
            f"<td>{e(a['opened_date'])}</td><td class=n>{e(a['credit_amount'])}</td>"
            f"<td class=n>{e(a['balance'])}</td><td>{e(a['status'])}</td><td class=n>{a['dpd']}</td>"
            f"<td class=g>{e(a['grid'])}</td><td>{'争议中 disputed' if a['under_dispute'] else ''}</td></tr>"
            for a in doc["accounts"]
        )
        or "<tr><td colspan=10>无 none</td></tr>"
    )
    asks = (
        "".join(
            f"<tr><td>{e(q['time'])}</td><td>{e(q['inquirer'])}</td><td>{e(q['product'])}</td>"
            f"<td>{e(PURPOSES_ZH.get(q['purpose'], q['purpose']))} {e(q['purpose'])}</td></tr>"
            for q in doc["inquiries"]
        )
        or "<tr><td colspan=4>无 none</td></tr>"
    )
    cases = (
        "".join(
            f"<li>{e(c['case_no'])}: {e(c['member'])} {e(c['account_id'])} — {e(c['status'])}</li>"
            for c in doc["disputes"]
        )
        or "<li>无 none</li>"
    )
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>个人信用报告 Self-report {e(doc["reference"])}</title><style>
@page {{ size: A4 landscape; margin: 14mm; @bottom-right {{ content: counter(page) " / " counter(pages); }} }}
body {{ font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: 9pt; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 8mm; }}
th, td {{ border: 0.5pt solid #999; padding: 2pt 4pt; text-align: left; }}
td.n {{ text-align: right; }} td.g {{ font-family: "Noto Sans Mono CJK SC", monospace; letter-spacing: 1pt; }}
</style></head><body>
<h1>个人信用报告（本人查询） Personal report (self-inquiry)</h1>
<p>报告编号 Reference {e(doc["reference"])} · 生成时间 Produced {e(doc["produced_at"])} ·
证件 ID {e(doc["person"]["id"])} · 数据截至 As of {e(doc["as_of"])} ·
费用 Fee {e(doc["fee"]["currency"])} {e(doc["fee"]["amount"])}</p>
<h2>账户 Accounts</h2>
<table><tr><th>机构 Lender</th><th>账户 Account</th><th>产品 Product</th><th>开立 Opened</th>
<th>授信 Credit</th><th>余额 Balance</th><th>状态 Status</th><th>逾期天数 DPD</th>
<th>24个月 {e(doc["months"][0])} … {e(doc["months"][-1])}</th><th></th></tr>{rows}</table>
<p>N 正常 · * 无应还 · 1–7 逾期1–30…181+天 · C 结清 · G 减免结清 · Z 转出 · # 未报送 · / 未开立</p>
<h2>查询记录 Inquiries</h2>
<table><tr><th>时间 Time</th><th>查询机构 Inquirer</th><th>产品 Product</th><th>用途 Purpose</th></tr>{asks}</table>
<h2>异议 Disputes</h2><ul>{cases}</ul>
<p>如对报告内容有异议，可向协会提出，报送机构须在20日内答复。 If you object to any record, tell the
association: the reporting member must answer within 20 days.</p>
</body></html>"""


@dataclass(frozen=True)
class Produced:
    reference: str
    json: Path
    pdf: Path | None
    fee: str
    currency: str
    nth_this_year: int
    year: int
    accounts: int
    inquiries: int
    doc: dict[str, Any]


def folder(settings: Settings) -> Path:
    """Where self-reports are written by default: ``<home>/rights/self-reports``."""
    return settings.home / "rights" / "self-reports"


def produce(
    settings: Settings,
    wh: Any,
    borrower_key: str,
    *,
    masked_id: str,
    accept_fee: bool,
    staff: str,
    write_pdf: PdfWriter | None,
    out_dir: Path | None = None,
    progress: Callable[[str], None] = lambda text: None,
) -> Produced:
    """Make the person's report, record it (two free a year, then the price list's
    ``SELF_REPORT`` fee if ``accept_fee``) and write ``SR-<n>.json`` and ``.pdf`` (mode 0600);
    nothing is recorded if the files cannot be written."""
    from exchange.registry import db as registry_db
    from exchange.registry import disputes, list_members, rights
    from exchange.registry.models import utcnow
    from products import billing

    if not re.fullmatch(r"[0-9a-f]{64}", borrower_key):
        raise InvalidInput("borrower_key must be 64 lower-case hex digits (the pepper's HMAC)")
    prices = billing.load_prices(settings.section(ApiSettings).price_list)
    out = out_dir or folder(settings)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = utcnow()
    data = fetch(wh, borrower_key, today_cst(), detail=True)  # every inquiry with its time
    with registry_db.session(settings.registry_url) as db:
        names = {m.code: m.name for m in list_members(db)}
        cases = [c for c in disputes.list_cases(db) if c.borrower_key == borrower_key]
        earlier = rights.self_reports_of(db, borrower_key)
        data = dataclasses.replace(
            data, disputed=frozenset((c.member_code, c.account_id) for c in cases
                                     if c.status in disputes.FLAGGED)
        )  # fmt: skip
        info = rights.record_self_report(
            db, borrower_key, staff=staff, price=prices.price("SELF_REPORT"),
            currency=prices.currency, accept_fee=accept_fee, now=now,
        )  # fmt: skip
        doc = document(
            data, names=names, masked_id=masked_id, reference=info.reference, produced_at=now,
            fee=f"{info.fee:.2f}", currency=info.currency,
            disputes=[c.public(now) for c in cases], earlier=earlier,
        )  # fmt: skip
        json_path = out / f"{info.reference}.json"
        json_path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
        os.chmod(json_path, 0o600)
        pdf_path = None
        if write_pdf is not None:
            progress("writing the PDF")
            pdf_path = write_pdf(html(doc), out, out / f"{info.reference}.pdf")
            os.chmod(pdf_path, 0o600)
    return Produced(
        info.reference, json_path, pdf_path, f"{info.fee:.2f}", info.currency,
        info.nth_this_year, info.year, len(doc["accounts"]), len(doc["inquiries"]), doc,
    )  # fmt: skip
