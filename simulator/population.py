"""Members and borrowers of the synthetic industry.

Members: one of every :class:`~exchange.domain.InstitutionType`, the rest drawn by
:data:`~simulator.params.TYPE_MIX`; sizes lognormal by type (:data:`~simulator.params.SIZE_MU`,
``SIZE_SIGMA``) so a few internet platforms and consumer-finance companies dominate and the
microloan tail is long. Codes are a type prefix and a number (``IP003``), names plausible
Chinese company names, joined dates up to five years before the first reported month.

Borrowers (columnar, numpy): age at the end of the window ``18.3 + Gamma(2, 6.5)`` capped at
65; a valid identity number — mostly a RIC whose region code is a GB/T 2260 county valid in the
birth year (:mod:`simulator.regions`), whose birth date is the borrower's, whose sequence digit
carries the sex and whose last character is the GB 11643 (ISO 7064 MOD 11-2) check digit —
a name (:mod:`simulator.names`), a mobile, a latent risk ``z`` and a planned number of lenders
``1 + Poisson(λ)`` with ``log λ`` rising with youth and risk plus lognormal noise (params).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from exchange.domain import InstitutionType
from exchange.pseudonym import ID_TYPES
from simulator import names, params, regions
from simulator.months import ymd

#: Weights of GB 11643 positions 1–17: 2^(17 − i) mod 11.
RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
FOREIGN_NATIONS = ("USA", "GBR", "KOR", "JPN", "CAN", "AUS", "DEU", "FRA", "SGP", "MYS")


@dataclass(frozen=True)
class Member:
    """A member institution as the registry needs it, plus what shapes its simulated book."""

    code: str
    name: str
    type: InstitutionType
    joined: dt.date
    share: float  # expected share of the industry's borrower relationships
    reports_five_class: bool
    reports_province: bool
    reports_mobile: bool


@dataclass(frozen=True)
class Borrowers:
    """The synthetic population, one row per person (raw identifiers: never leave the simulator
    except in members' files)."""

    id_type: np.ndarray  # int8 index into exchange.pseudonym.ID_TYPES
    id_number: np.ndarray  # unicode
    name: np.ndarray  # unicode
    mobile: np.ndarray  # unicode, "" when the borrower gave none
    birth: np.ndarray  # int32 day number
    male: np.ndarray  # bool
    province: np.ndarray  # int16 GB/T 2260 province of the RIC, 0 for other documents
    risk: np.ndarray  # float32 latent risk z
    lenders: np.ndarray  # int16 planned number of lender relationships
    propensity: np.ndarray  # float32 standardised log λ: appetite for many lenders

    def __len__(self) -> int:
        return len(self.id_number)


def make_members(rng: np.random.Generator, n: int, first_day: dt.date) -> list[Member]:
    """``n`` members (at least one per institution type), ordered by type then number."""
    k = len(params.TYPES)
    if n < k:
        raise ValueError(f"need at least {k} members (one per institution type); received {n}")
    types = np.r_[np.arange(k), rng.choice(k, size=n - k, p=params.TYPE_MIX)]
    types.sort(kind="stable")
    size = np.exp(params.SIZE_MU[types] + params.SIZE_SIGMA[types] * rng.standard_normal(n))
    share = size / size.sum()
    joined_days_before = rng.integers(30, 5 * 365, size=n)
    flags = rng.random((n, 3))
    taken: set[str] = set()
    members: list[Member] = []
    counters = [0] * k
    for i in range(n):
        t = int(types[i])
        counters[t] += 1
        members.append(
            Member(
                code=f"{params.CODE_PREFIX[t]}{counters[t]:03d}",
                name=names.company_name(rng, t, taken),
                type=params.TYPES[t],
                joined=first_day - dt.timedelta(days=int(joined_days_before[i])),
                share=float(share[i]),
                reports_five_class=bool(flags[i, 0] < params.REPORTS_FIVE_CLASS),
                reports_province=bool(flags[i, 1] < params.REPORTS_PROVINCE),
                reports_mobile=bool(flags[i, 2] < params.REPORTS_MOBILE),
            )
        )
    return members


def ric_check_digits(body: np.ndarray) -> np.ndarray:
    """GB 11643 check characters ('0'–'9', 'X') of 17-digit bodies given as int64."""
    total = np.zeros(len(body), dtype=np.int64)
    rest = body.copy()
    for i in range(16, -1, -1):
        rest, digit = np.divmod(rest, 10)
        total += digit * RIC_WEIGHTS[i]
    check = (12 - total % 11) % 11
    return np.array(list("0123456789X"))[check]


def make_rics(
    rng: np.random.Generator, region: np.ndarray, birth: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """RIC numbers from region codes, birth day numbers and sex; unique within the call."""
    y, m, d = ymd(birth)
    born = y * 10000 + m * 100 + d
    n = len(region)
    seq = 2 * rng.integers(0, 500, size=n) + male.astype(np.int64)
    body = region.astype(np.int64) * 10**11 + born * 1000 + seq
    for _ in range(100):  # redraw the sequence of the rare duplicates
        _, first = np.unique(body, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        seq_dup = 2 * rng.integers(0, 500, size=int(dup.sum())) + male[dup].astype(np.int64)
        body[dup] = body[dup] // 1000 * 1000 + seq_dup
    return np.char.add(body.astype("U17"), ric_check_digits(body))


def _other_ids(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    """Numbers of other documents: HKMO H/M + 8 digits, TW 8 digits, PASSPORT E + 8 digits,
    FOREIGN_PR the old 15-character card (nationality + 12 digits)."""
    if n == 0:
        return np.empty(0, dtype="U18")
    digits = rng.integers(0, 10**8, size=n).astype(np.int64)
    eight = np.char.zfill(digits.astype("U8"), 8)
    if kind == "PASSPORT":
        return np.char.add("E", eight)
    if kind == "HKMO":
        return np.char.add(np.where(rng.random(n) < 0.8, "H", "M"), eight)
    if kind == "TW":
        return eight
    nation = np.array(FOREIGN_NATIONS)[rng.integers(0, len(FOREIGN_NATIONS), size=n)]
    twelve = np.char.zfill(rng.integers(0, 10**12, size=n).astype("U12"), 12)
    return np.char.add(nation, twelve)


def make_borrowers(
    rng: np.random.Generator, n: int, window_end_day: int, members: int
) -> Borrowers:
    """``n`` borrowers as of the last day of the window (a day number)."""
    age = params.AGE_MIN + rng.gamma(params.AGE_SHAPE, params.AGE_SCALE, size=n)
    too_old = age > params.AGE_MAX
    age[too_old] = rng.uniform(params.AGE_MIN, params.AGE_MAX, size=int(too_old.sum()))
    birth = (window_end_day - np.rint(age * 365.25)).astype(np.int32)
    male = rng.random(n) < params.MALE_SHARE

    kinds = ["RIC", *params.OTHER_ID_SHARE]
    other = np.array(list(params.OTHER_ID_SHARE.values()))
    kind_index = rng.choice(len(kinds), size=n, p=np.r_[1.0 - other.sum(), other])
    id_type = np.array([ID_TYPES.index(k) for k in kinds], dtype=np.int8)[kind_index]

    province = regions.draw_provinces(rng, n)
    is_ric = kind_index == 0
    birth_year = ymd(birth)[0].astype(np.int16)
    region = regions.draw_region_codes(rng, province[is_ric], birth_year[is_ric])
    id_number = np.empty(n, dtype="U18")
    id_number[is_ric] = make_rics(rng, region, birth[is_ric], male[is_ric])
    for i, kind in enumerate(kinds[1:], start=1):
        sel = kind_index == i
        id_number[sel] = _other_ids(rng, kind, int(sel.sum()))
    # the RIC's own province (it differs from the draw for regions.FALLBACK_PROVINCE)
    province = np.zeros(n, dtype=np.int16)
    province[is_ric] = (region // 10000).astype(np.int16)

    name = names.draw_names(rng, male, province)
    mobile = names.draw_mobiles(rng, n, missing_share=0.08)

    youth = np.clip((35.0 - age) / 10.0, -2.0, 1.7)
    risk = (params.RISK_YOUTH * youth + rng.standard_normal(n)).astype(np.float32)
    log_lambda = (
        params.LENDERS_MU
        + params.LENDERS_YOUTH * youth
        + params.LENDERS_RISK * risk
        + params.LENDERS_SIGMA * rng.standard_normal(n)
    )
    lenders = 1 + rng.poisson(np.exp(log_lambda))
    lenders = np.minimum(lenders, min(params.LENDERS_MAX, members)).astype(np.int16)
    propensity = ((log_lambda - log_lambda.mean()) / log_lambda.std()).astype(np.float32)
    return Borrowers(
        id_type=id_type,
        id_number=id_number,
        name=name,
        mobile=mobile,
        birth=birth,
        male=male,
        province=province,
        risk=risk,
        lenders=lenders,
        propensity=propensity,
    )
