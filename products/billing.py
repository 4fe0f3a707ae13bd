"""Metering and billing: usage per member × product × day, priced by a configurable list.

Invariants:

* One source of truth: usage is counted from the warehouse's ``inquiries`` table (named query
  ``usage_daily``), where every lookup — single or batch, one row per borrower — is logged. Days
  are China-time days; a month is the calendar month in China time.
* Prices come from the TOML file ``[api] price_list`` (default ``<home>/prices.toml``) when it
  exists, else :data:`DEFAULT_PRICES`::

      currency = "CNY"
      [prices]
      MULTI_LOAN = "2.00"    # per lookup
      TIME_SERIES = "3.00"   # per lookup
      BATCH = "0.50"         # per borrower of a batch job

  Self-inquiries (``SELF``) and dispute lookups (``DISPUTE``) are free whatever the file says.
  Amounts are exact decimals rounded to the fen per line.
* A statement is member-scoped: the API serves only the caller's own; the CLI names the member.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import tomllib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from exchange.domain import CST
from exchange.errors import ConfigError

FREE = frozenset({"SELF", "DISPUTE"})
DEFAULT_PRICES: dict[str, Decimal] = {
    "MULTI_LOAN": Decimal("2.00"),
    "TIME_SERIES": Decimal("3.00"),
    "BATCH": Decimal("0.50"),
    "SELF": Decimal("0"),
    "DISPUTE": Decimal("0"),
    #: a person's self-report beyond the two free ones of a calendar year (paid by the person)
    "SELF_REPORT": Decimal("10.00"),
}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceList:
    currency: str
    prices: dict[str, Decimal]
    source: str  # file path and sha256, or "built-in"

    def price(self, product: str) -> Decimal:
        return Decimal(0) if product in FREE else self.prices.get(product, Decimal(0))


def load_prices(path: Path | None) -> PriceList:
    """The price list at ``path`` if the file exists, else the built-in one."""
    if path is None or not path.exists():
        return PriceList("CNY", dict(DEFAULT_PRICES), "built-in")
    data = path.read_bytes()
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"price list {path} is not valid TOML: {exc}") from None
    prices = dict(DEFAULT_PRICES)
    for product, value in (doc.get("prices") or {}).items():
        if product not in DEFAULT_PRICES:
            raise ConfigError(
                f"price list {path}: unknown product {product!r}; allowed: "
                + ", ".join(DEFAULT_PRICES)
            )
        try:
            price = Decimal(str(value))
        except InvalidOperation:
            price = Decimal(-1)
        if not price.is_finite() or price < 0:
            raise ConfigError(f"price list {path}: {product} = {value!r} is not a price >= 0")
        prices[product] = price
    source = f"{path} (sha256 {hashlib.sha256(data).hexdigest()[:16]})"
    return PriceList(str(doc.get("currency", "CNY")), prices, source)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last China-time day of ``YYYY-MM``."""
    first = dt.date.fromisoformat(f"{month}-01")
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def day_start_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), CST).astimezone(dt.UTC).replace(tzinfo=None)


def usage(wh: Any, member: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """``[{day, product, units, batches}]`` of one member, days ``first``..``last`` inclusive."""
    rows = wh.query(
        "usage_daily",
        member=member,
        from_ts=day_start_utc(first).strftime("%Y-%m-%d %H:%M:%S"),
        to_ts=day_start_utc(last + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"),
    ).dicts()
    return [
        {"day": r["day"].isoformat(), "product": r["product"], "units": int(r["units"]),
         "batches": int(r["batches"])}
        for r in rows
    ]  # fmt: skip


@dataclass
class Statement:
    member_code: str
    member_name: str
    month: str
    prices: PriceList
    days: list[dict[str, Any]] = field(default_factory=list)  # day × product with amounts
    lines: list[dict[str, Any]] = field(default_factory=list)  # per product totals
    total: Decimal = Decimal(0)


def statement(
    wh: Any, member_code: str, member_name: str, month: str, prices: PriceList
) -> Statement:
    first, last = month_bounds(month)
    out = Statement(member_code, member_name, month, prices)
    per_product: dict[str, int] = {}
    for row in usage(wh, member_code, first, last):
        price = prices.price(row["product"])
        amount = (price * row["units"]).quantize(CENT, ROUND_HALF_UP)
        out.days.append({**row, "unit_price": price, "amount": amount})
        per_product[row["product"]] = per_product.get(row["product"], 0) + row["units"]
    for product, units in sorted(per_product.items()):
        price = prices.price(product)
        amount = (price * units).quantize(CENT, ROUND_HALF_UP)
        out.lines.append(
            {"product": product, "units": units, "unit_price": price, "amount": amount}
        )
        out.total += amount
    return out


def to_csv(s: Statement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["member", "month", "day", "product", "units", "unit_price", "amount", "currency"])
    for d in s.days:
        w.writerow([s.member_code, s.month, d["day"], d["product"], d["units"],
                    f"{d['unit_price']:.2f}", f"{d['amount']:.2f}", s.prices.currency])  # fmt: skip
    w.writerow([s.member_code, s.month, "TOTAL", "", sum(x["units"] for x in s.lines), "",
                f"{s.total:.2f}", s.prices.currency])  # fmt: skip
    return buf.getvalue()


def to_html(s: Statement) -> str:
    e = html.escape
    rows = (
        "".join(
            f"<tr><td>{e(x['product'])}</td><td class=n>{x['units']:,}</td>"
            f"<td class=n>{x['unit_price']:.2f}</td><td class=n>{x['amount']:,.2f}</td></tr>"
            for x in s.lines
        )
        or "<tr><td colspan=4>no usage this month</td></tr>"
    )
    daily = "".join(
        f"<tr><td>{e(d['day'])}</td><td>{e(d['product'])}</td><td class=n>{d['units']:,}</td>"
        f"<td class=n>{d['amount']:,.2f}</td></tr>"
        for d in s.days
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: 10pt; }}
h1 {{ font-size: 16pt; }} table {{ border-collapse: collapse; width: 100%; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ccc; padding: 3px 6px; text-align: left; }}
td.n, th.n {{ text-align: right; }} .total td {{ font-weight: bold; border-top: 2px solid #000; }}
</style></head><body>
<h1>Statement 账单 — {e(s.month)}</h1>
<p>Member 会员: <b>{e(s.member_name)}</b> ({e(s.member_code)})<br>
Currency 币种: {e(s.prices.currency)} · Price list 价目表: {e(s.prices.source)}<br>
Self-inquiries and dispute lookups are free. 本人查询与异议查询免费。</p>
<table><tr><th>Product 产品</th><th class=n>Units 次数</th><th class=n>Unit price 单价</th>
<th class=n>Amount 金额</th></tr>{rows}
<tr class=total><td>Total 合计</td><td></td><td></td><td class=n>{s.total:,.2f}</td></tr></table>
<h2>By day 按日明细</h2>
<table><tr><th>Day 日期</th><th>Product 产品</th><th class=n>Units</th><th class=n>Amount</th></tr>
{daily}</table></body></html>"""


def to_pdf(s: Statement) -> bytes:
    from weasyprint import HTML  # heavy import: only when a PDF is made

    pdf: bytes = HTML(string=to_html(s)).write_pdf()
    return pdf
