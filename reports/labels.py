"""Bilingual (English / 中文) labels of everything a release prints, and the order rows appear in.

The codes are the warehouse's (institution types, products, GB/T 2260 province codes) and the
band codes the named queries ``sql/queries/report_*.sql`` produce; :func:`label` turns any of
them into ``Label(en, zh)``. A code without a label prints as itself, so a new code never breaks
a release (and a test checks every code the queries can produce has one).
"""

from __future__ import annotations

from typing import NamedTuple

from exchange.domain import DPD_BUCKETS, InstitutionType, Product


class Label(NamedTuple):
    en: str
    zh: str

    def both(self) -> str:
        return f"{self.zh} {self.en}"


#: dpd buckets in order (index = the bucket number the queries use)
BUCKETS: tuple[str, ...] = tuple(name for name, _, _ in DPD_BUCKETS)
BUCKET_LABELS: dict[str, Label] = {
    "current": Label("Current (0 dpd)", "未逾期（0天）"),
    "1-29": Label("1–29 dpd", "逾期1–29天"),
    "30-59": Label("30–59 dpd", "逾期30–59天"),
    "60-89": Label("60–89 dpd", "逾期60–89天"),
    "90-179": Label("90–179 dpd", "逾期90–179天"),
    "180+": Label("180+ dpd", "逾期180天以上"),
}

#: transition end states: the buckets (open accounts), then the ways an account leaves the book
STATES: tuple[str, ...] = (
    *BUCKETS,
    "closed",
    "settled",
    "written_off",
    "transferred",
    "not_reported",
)
STATE_LABELS: dict[str, Label] = {
    **BUCKET_LABELS,
    "closed": Label("Closed (paid in full)", "结清"),
    "settled": Label("Settled for less", "减免结清"),
    "written_off": Label("Written off", "核销"),
    "transferred": Label("Transferred", "转让"),
    "not_reported": Label("Not reported", "未报送"),
}

DIMENSIONS: tuple[str, ...] = ("member_type", "product", "province", "age_band", "size_band")
DIMENSION_LABELS: dict[str, Label] = {
    "industry": Label("Industry", "全行业"),
    "member_type": Label("Institution type", "机构类型"),
    "product": Label("Product", "产品"),
    "province": Label("Province", "省份"),
    "age_band": Label("Borrower age", "借款人年龄"),
    "size_band": Label("Loan size (credit amount, CNY)", "授信金额（元）"),
}

_TYPES: dict[str, Label] = {
    InstitutionType.CONSUMER_FINANCE: Label("Consumer finance companies", "消费金融公司"),
    InstitutionType.MICROLOAN: Label("Microloan companies", "小额贷款公司"),
    InstitutionType.INTERNET_PLATFORM: Label("Internet platforms", "互联网平台"),
    InstitutionType.BANK: Label("Banks", "银行"),
    InstitutionType.GUARANTEE_INSURANCE: Label("Guarantee and insurance", "融资担保及保险"),
    InstitutionType.OTHER: Label("Other institutions", "其他机构"),
}
_PRODUCTS: dict[str, Label] = {
    Product.CASH: Label("Cash loans", "现金贷"),
    Product.INSTALLMENT: Label("Instalment loans", "分期贷款"),
    Product.REVOLVING: Label("Revolving credit", "循环额度"),
    Product.BNPL: Label("Buy now, pay later", "先买后付"),
    Product.AUTO: Label("Auto loans", "汽车贷款"),
    Product.OTHER: Label("Other products", "其他产品"),
}
_PROVINCES: dict[str, Label] = {
    "11": Label("Beijing", "北京"), "12": Label("Tianjin", "天津"), "13": Label("Hebei", "河北"),
    "14": Label("Shanxi", "山西"), "15": Label("Inner Mongolia", "内蒙古"),
    "21": Label("Liaoning", "辽宁"), "22": Label("Jilin", "吉林"),
    "23": Label("Heilongjiang", "黑龙江"), "31": Label("Shanghai", "上海"),
    "32": Label("Jiangsu", "江苏"), "33": Label("Zhejiang", "浙江"), "34": Label("Anhui", "安徽"),
    "35": Label("Fujian", "福建"), "36": Label("Jiangxi", "江西"), "37": Label("Shandong", "山东"),
    "41": Label("Henan", "河南"), "42": Label("Hubei", "湖北"), "43": Label("Hunan", "湖南"),
    "44": Label("Guangdong", "广东"), "45": Label("Guangxi", "广西"), "46": Label("Hainan", "海南"),
    "50": Label("Chongqing", "重庆"), "51": Label("Sichuan", "四川"), "52": Label("Guizhou", "贵州"),
    "53": Label("Yunnan", "云南"), "54": Label("Tibet", "西藏"), "61": Label("Shaanxi", "陕西"),
    "62": Label("Gansu", "甘肃"), "63": Label("Qinghai", "青海"), "64": Label("Ningxia", "宁夏"),
    "65": Label("Xinjiang", "新疆"), "71": Label("Taiwan", "台湾"),
    "81": Label("Hong Kong", "香港"), "82": Label("Macao", "澳门"),
}  # fmt: skip
AGE_BANDS: dict[str, Label] = {
    "lt25": Label("Under 25", "25岁以下"),
    "25-29": Label("25–29", "25–29岁"),
    "30-39": Label("30–39", "30–39岁"),
    "40-49": Label("40–49", "40–49岁"),
    "50+": Label("50 and over", "50岁及以上"),
}
SIZE_BANDS: dict[str, Label] = {
    "lt1k": Label("Under 1,000", "1千元以下"),
    "1k-5k": Label("1,000–4,999", "1千–5千元"),
    "5k-20k": Label("5,000–19,999", "5千–2万元"),
    "20k-50k": Label("20,000–49,999", "2万–5万元"),
    "50k-200k": Label("50,000–199,999", "5万–20万元"),
    "200k+": Label("200,000 and over", "20万元及以上"),
}
LENDER_BANDS: dict[str, Label] = {
    "1": Label("1 institution", "1家机构"),
    "2": Label("2 institutions", "2家机构"),
    "3-4": Label("3–4 institutions", "3–4家机构"),
    "5+": Label("5 or more institutions", "5家及以上机构"),
}
UNKNOWN = Label("Unknown", "未知")

VALUE_LABELS: dict[str, dict[str, Label]] = {
    "industry": {"all": Label("All institutions", "全部机构")},
    "member_type": _TYPES,
    "product": _PRODUCTS,
    "province": _PROVINCES,
    "age_band": AGE_BANDS,
    "size_band": SIZE_BANDS,
    "lenders": LENDER_BANDS,
}


def label(dimension: str, code: str) -> Label:
    """The label of ``code`` in ``dimension``; ``unknown`` and unlabelled codes print sensibly."""
    if code == "unknown":
        return UNKNOWN
    found = VALUE_LABELS.get(dimension, {}).get(code)
    return found if found is not None else Label(code, code)


def order(dimension: str, codes: list[str]) -> list[str]:
    """``codes`` in publication order: the label table's order, then others sorted, unknown last."""
    known = list(VALUE_LABELS.get(dimension, {}))
    rank = {code: i for i, code in enumerate(known)}
    return sorted(codes, key=lambda c: (c == "unknown", rank.get(c, len(rank)), c))
