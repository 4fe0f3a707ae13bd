"""GB/T 2260 region codes for synthetic RIC numbers, valid for the holder's birth year.

The codes come from python-stdnum's ``stdnum/cn/loc.dat`` — the very table
``stdnum.cn.ric.get_birth_place`` (and so :func:`exchange.pseudonym.check_id`) validates
against. Its county lines read ``  0105 county="朝阳区"`` or, for codes that were created,
abolished or renamed, ``  0110 county="[-1991]东郊区,[1992-]东丽区"``: a code is valid in a birth
year when any of its alternatives covers that year.

Only county-level codes are drawn (the last two digits not ``00``, and not the catch-all
``市辖区`` "city districts"): real card numbers carry the county of first registration.
Provinces are weighted by their 2020 census population (millions); Taiwan, Hong Kong and Macau
residents do not hold a RIC and get weight 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

#: 2020 census resident population by province code, millions.
PROVINCE_POPULATION: dict[str, float] = {
    "11": 21.9, "12": 13.9, "13": 74.6, "14": 34.9, "15": 24.0, "21": 42.6, "22": 24.1,
    "23": 31.9, "31": 24.9, "32": 84.7, "33": 64.6, "34": 61.0, "35": 41.5, "36": 45.2,
    "37": 101.5, "41": 99.4, "42": 57.8, "43": 66.4, "44": 126.0, "45": 50.1, "46": 10.1,
    "50": 32.1, "51": 83.7, "52": 38.6, "53": 47.2, "54": 3.6, "61": 39.5, "62": 25.0,
    "63": 5.9, "64": 7.2, "65": 25.9,
}  # fmt: skip

#: Provinces created after many borrowers were born (Hainan 1988, Chongqing 1997): people born
#: there before carry codes of the province the area then belonged to.
FALLBACK_PROVINCE = {46: 44, 50: 51}

_LINE = re.compile(r'^(\s*)(\d+)\s+(\w+)="(.*)"\s*$')
_ALTERNATIVE = re.compile(r"^\[(\d*)-(\d*)\](.*)$")
_OPEN_END = 9999


@dataclass(frozen=True)
class RegionTable:
    """County codes as parallel arrays: one row per (code, validity interval)."""

    code: np.ndarray  # int32, the six digits
    province: np.ndarray  # int16, the first two digits
    first_year: np.ndarray  # int16, first year the code is valid (0: always)
    last_year: np.ndarray  # int16, last valid year (9999: still valid)


@cache
def region_table() -> RegionTable:
    """Parse ``stdnum/cn/loc.dat`` into the county codes the simulator may draw."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    codes: list[int] = []
    firsts: list[int] = []
    lasts: list[int] = []
    province = ""
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        m = _LINE.match(raw)
        if not m:
            continue
        indent, digits, key, value = m.groups()
        if not indent:
            province = digits
            continue
        if key != "county" or len(digits) != 4 or digits.endswith("00"):
            continue
        code = int(province + digits)
        for alternative in value.split(","):
            am = _ALTERNATIVE.match(alternative)
            if am:
                start, end, name = am.groups()
                first, last = int(start or 0), int(end or _OPEN_END)
            else:
                name, first, last = alternative, 0, _OPEN_END
            if name == "市辖区":
                continue
            codes.append(code)
            firsts.append(first)
            lasts.append(last)
    code_arr = np.array(codes, dtype=np.int32)
    return RegionTable(
        code=code_arr,
        province=(code_arr // 10000).astype(np.int16),
        first_year=np.array(firsts, dtype=np.int16),
        last_year=np.array(lasts, dtype=np.int16),
    )


def draw_provinces(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` province codes (int16) weighted by population."""
    provinces = np.array([int(p) for p in PROVINCE_POPULATION], dtype=np.int16)
    weights = np.array(list(PROVINCE_POPULATION.values()))
    return provinces[rng.choice(len(provinces), size=n, p=weights / weights.sum())]


def draw_region_codes(
    rng: np.random.Generator, province: np.ndarray, birth_year: np.ndarray
) -> np.ndarray:
    """A county code (int32) in each borrower's province that was valid in their birth year.

    Counties are equally likely within a province. One draw per (province, birth year) group,
    in sorted group order, so the result depends only on the inputs and the generator.
    """
    table = region_table()
    out = np.zeros(len(province), dtype=np.int32)
    key = province.astype(np.int64) * 10000 + birth_year.astype(np.int64)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts, ends, strict=True):
        prov, year = divmod(int(sorted_key[s]), 10000)
        candidates = _valid_codes(table, prov, year)
        if len(candidates) == 0 and prov in FALLBACK_PROVINCE:
            candidates = _valid_codes(table, FALLBACK_PROVINCE[prov], year)
        if len(candidates) == 0:
            raise ValueError(f"no GB/T 2260 county of province {prov} is valid in {year}")
        out[order[s:e]] = candidates[rng.integers(0, len(candidates), size=e - s)]
    return out


def _valid_codes(table: RegionTable, province: int, year: int) -> np.ndarray:
    ok = (table.province == province) & (table.first_year <= year) & (table.last_year >= year)
    return np.unique(table.code[ok])
