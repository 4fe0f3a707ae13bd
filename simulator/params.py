"""Every number of the synthetic industry, in one place, with the reason for it.

The simulator is a monthly model. Arrays below are indexed by the position of a code in
:data:`TYPES` (institution types), :data:`PRODUCTS` and the delinquency bucket index of
:data:`BUCKET_OF_CYCLE`, so the behaviour code can gather them with numpy fancy indexing.

Repayment behaviour — a Markov chain on *cycles past due*
----------------------------------------------------------
An account's state at a month end is ``k``, the number of monthly due dates since its oldest
unpaid one (0 = current). Due days are kept within 5–26 of the month, which makes ``k`` map
exactly onto the DOMAIN §5 dpd buckets for month-end reporting (and for daily reporting two days
after the due day)::

    k = 0      current        k = 1  1–29 dpd      k = 2  30–59      k = 3  60–89
    k = 4..6   90–179         k = 7  180+  → written off that month (dpd 180 on the closed date)

Each month an open account moves by one of: *pay* (stays current), *roll* (k → k + 1: nothing
paid), *hold* (k stays: one instalment paid, the arrears neither grow nor shrink), *cure*
(k → 0: all arrears paid), *settle* (ended for less than owed, SETTLED), *transfer* (debt sold,
TRANSFERRED), *prepay* (current only: paid off early, CLOSED). Baseline monthly probabilities,
for a "multiplier 1" account::

    from \\ to      roll    cure   settle  transfer   hold (rest)
    current        0.010     –       –        –        (pay; prepay by product below)
    1–29           0.38    0.50      –        –        0.12
    30–59          0.66    0.17    0.02       –        0.15
    60–89          0.78    0.09    0.03       –        0.10
    90–179         0.84    0.03    0.03     0.01       0.09

Why these: the average multiplier of an account is ~1.6 (cash loans at microloan companies,
young multi-borrowers), so the industry's current → 1–29 flow is ~1.5–2 % a month, and about
half of 1–29 accounts cure — the orders of magnitude Chinese consumer lenders disclose for
online cash loans. Roll rates climb with age of arrears because a borrower who has not paid
for 60 days rarely pays in full. Together they give an industry 30+ count rate of ~4–5.5 % of
open accounts (2–8 % is the plausible band) and ~1 % of open accounts written off a month.

Risk multipliers. An account's roll probabilities are ``base × M ** ROLL_EXPONENT[bucket]`` and
its cure probabilities ``base × M ** -0.5`` where ``M`` is the product of:

* product (:data:`PRODUCT_RISK`): unsecured cash loans worst, auto loans best;
* member type (:data:`TYPE_RISK`): microloan companies take the riskiest borrowers, banks the
  safest;
* concurrent lenders ``c`` with an open account at the last month end:
  ``min(1 + CONCURRENCY_SLOPE·(c − 1), CONCURRENCY_CAP)`` — the joint-debt effect the exchange
  exists to see (the tenth lender's borrower rolls at ~2.4× the one-lender borrower's rate);
* the borrower's latent risk ``exp(RISK_SIGMA·z − RISK_SIGMA²/2)``, ``z ~ N(0, 1)``, which is
  also what makes a borrower seek many lenders (see :data:`LENDERS_RISK`);
* a borrower-month shock ``exp(SHOCK_SIGMA·e − SHOCK_SIGMA²/2)`` shared by all the borrower's
  accounts that month (job loss hits every lender at once);
* seasoning (:data:`SEASONING`): first-payment defaults make months 1–3 on book riskier;
* Spring Festival: ``1 + FESTIVAL_AMPLITUDE × festival_share(month)`` (the share of the ±7-day
  festival window in the month, :mod:`exchange.spring_festival`).

Later buckets react less to the multiplier (``ROLL_EXPONENT`` falls from 1 to 0.3): once 90 days
behind, almost everyone rolls whatever their profile. Roll probabilities are capped
(:data:`ROLL_CAP`).

Origination: a planned loan is declined when the borrower is 30+ behind anywhere or was written
off in the last 12 months with probability :data:`DECLINE_IF_BAD` (members look the borrower up
at the exchange before lending), and with :data:`DECLINE_IF_LATE` when 1–29 behind.
"""

from __future__ import annotations

import numpy as np

from exchange.domain import AccountStatus, Frequency, Guarantee, InstitutionType, Product

TYPES: tuple[InstitutionType, ...] = tuple(InstitutionType)
PRODUCTS: tuple[Product, ...] = tuple(Product)
GUARANTEES: tuple[Guarantee, ...] = tuple(Guarantee)
FREQUENCIES: tuple[Frequency, ...] = tuple(Frequency)
STATUSES: tuple[AccountStatus, ...] = tuple(AccountStatus)

T_CF, T_ML, T_IP, T_BK, T_GI, T_OT = (TYPES.index(t) for t in InstitutionType)
P_CASH, P_INST, P_REV, P_BNPL, P_AUTO, P_OTHER = (PRODUCTS.index(p) for p in Product)
G_NONE, G_GUAR, G_COLL, G_INS = (GUARANTEES.index(g) for g in Guarantee)
F_M, F_W, F_D, F_B, F_I = (FREQUENCIES.index(f) for f in Frequency)
S_NORMAL, S_OVERDUE, S_CLOSED, S_SETTLED, S_WRITTEN_OFF, S_TRANSFERRED = (
    STATUSES.index(s) for s in AccountStatus
)

# ── members ──────────────────────────────────────────────────────────────────────────────────

#: Share of member institutions by type (after one of each): many small microloan companies.
TYPE_MIX = np.array([0.18, 0.40, 0.14, 0.12, 0.10, 0.06])
#: Member size is lognormal: log-size mean and spread by type. A few internet platforms and
#: consumer-finance companies hold most accounts; the microloan tail is long and thin.
SIZE_MU = np.array([1.5, -0.2, 2.0, 0.6, 0.0, -0.4])
SIZE_SIGMA = np.array([0.8, 0.9, 1.0, 0.8, 0.7, 0.7])
#: Affinity of multi-borrowers for a member type (log weight per unit of borrower propensity):
#: heavy multi-borrowers go to internet platforms and microloan companies, not to banks.
TYPE_AFFINITY = np.array([0.0, 0.7, 0.5, -0.8, -0.2, 0.0])
#: Member code prefix by type; codes are prefix + 3-digit number (MEMBER_CODE_PATTERN).
CODE_PREFIX = ("CF", "ML", "IP", "BK", "GI", "OT")
#: Product mix of each member type (rows: TYPES, columns: PRODUCTS).
PRODUCT_MIX = np.array(
    [
        # CASH  INST   REV   BNPL   AUTO  OTHER
        [0.25, 0.45, 0.15, 0.10, 0.05, 0.00],  # consumer finance
        [0.70, 0.25, 0.00, 0.00, 0.00, 0.05],  # microloan
        [0.45, 0.10, 0.25, 0.20, 0.00, 0.00],  # internet platform
        [0.15, 0.35, 0.30, 0.00, 0.20, 0.00],  # bank
        [0.30, 0.50, 0.00, 0.00, 0.15, 0.05],  # guarantee / insurance
        [0.30, 0.30, 0.00, 0.00, 0.00, 0.40],  # other (leasing, factoring, pawn)
    ]
)
#: Scale of loan amounts by member type (banks lend more per loan than microloan companies).
TYPE_AMOUNT = np.array([1.0, 0.7, 0.8, 1.5, 1.2, 1.2])
#: Scale of interest rates by member type (capped at 36 % APR, the legal ceiling).
TYPE_APR = np.array([1.0, 1.3, 1.0, 0.6, 0.9, 1.1])
#: Share of members that report the optional five_class, province and mobile columns.
REPORTS_FIVE_CLASS = 0.7
REPORTS_PROVINCE = 0.6
REPORTS_MOBILE = 0.85

# ── products ─────────────────────────────────────────────────────────────────────────────────

#: Median amount (CNY), lognormal sigma, bounds and rounding unit (CNY) by product. REVOLVING
#: amounts are credit limits.
AMOUNT_MEDIAN = np.array([6000.0, 9000.0, 12000.0, 700.0, 110000.0, 20000.0])
AMOUNT_SIGMA = np.array([0.75, 0.85, 0.8, 0.9, 0.45, 1.0])
AMOUNT_MIN = np.array([500.0, 1000.0, 1000.0, 50.0, 30000.0, 1000.0])
AMOUNT_MAX = np.array([200000.0, 300000.0, 200000.0, 20000.0, 800000.0, 500000.0])
AMOUNT_UNIT = np.array([100.0, 100.0, 500.0, 0.01, 1000.0, 100.0])
#: Terms in months and their weights by product (REVOLVING has none: a line without maturity).
TERMS: dict[int, tuple[tuple[int, ...], tuple[float, ...]]] = {
    P_CASH: ((1, 3, 6, 12, 24), (0.10, 0.15, 0.30, 0.35, 0.10)),
    P_INST: ((3, 6, 9, 12, 18, 24, 36), (0.08, 0.18, 0.08, 0.30, 0.10, 0.18, 0.08)),
    P_BNPL: ((1, 3, 6, 12), (0.55, 0.20, 0.15, 0.10)),
    P_AUTO: ((24, 36, 48, 60), (0.15, 0.45, 0.15, 0.25)),
    P_OTHER: ((6, 12, 24, 36), (0.25, 0.35, 0.25, 0.15)),
}
#: APR range (uniform) by product; one-month BNPL is interest-free.
APR_LOW = np.array([0.12, 0.08, 0.10, 0.0, 0.05, 0.08])
APR_HIGH = np.array([0.30, 0.24, 0.24, 0.18, 0.12, 0.24])
#: Monthly probability that a current account is paid off early (REVOLVING: the line is closed).
PREPAY = np.array([0.035, 0.02, 0.006, 0.03, 0.012, 0.02])
#: Share of OTHER-product loans repaid irregularly (frequency I).
OTHER_IRREGULAR = 0.4
#: Renewal: months between a loan's maturity and the next loan at the same member (geometric
#: mean), and the chance the next one is drawn while the last is still running.
GAP_MEAN = np.array([1.5, 3.0, 0.0, 0.5, 24.0, 4.0])
OVERLAP = np.array([0.20, 0.05, 0.0, 0.35, 0.0, 0.05])
#: Revolving lines: first utilisation uniform in this range, monthly log-volatility of usage,
#: chance an unused line is drawn again, minimum payment share and floor (CNY).
REV_UTIL = (0.2, 0.9)
REV_VOL = 0.3
REV_REDRAW = 0.25
REV_MIN_SHARE = 0.10
REV_MIN_FLOOR = 100.0
#: Settlement pays this range (uniform) of what is owed.
SETTLE_SHARE = (0.3, 0.8)

# ── borrowers ────────────────────────────────────────────────────────────────────────────────

#: Age at the end of the window: AGE_MIN + Gamma(shape, scale), at most AGE_MAX — mode ~25,
#: median ~29, ~8 % over 45: the age profile of internet consumer credit.
AGE_MIN = 18.3
AGE_SHAPE = 2.0
AGE_SCALE = 6.5
AGE_MAX = 65.0
#: Share of borrowers identified by another document than a RIC: Hong Kong/Macau and Taiwan
#: residents' permits, foreign passports and foreign permanent-residence cards.
OTHER_ID_SHARE: dict[str, float] = {
    "PASSPORT": 0.0008,
    "HKMO": 0.0012,
    "TW": 0.0005,
    "FOREIGN_PR": 0.0005,
}
MALE_SHARE = 0.55
#: Latent risk spread and how much younger borrowers are riskier (z shifts by this per decade
#: under 35).
RISK_SIGMA = 0.55
RISK_YOUTH = 0.25
#: Lenders per borrower: 1 + Poisson(λ), log λ = LENDERS_MU + LENDERS_YOUTH·youth +
#: LENDERS_RISK·z + LENDERS_SIGMA·ε — a Poisson–lognormal mixture, so most borrowers have one or
#: two lenders and a thin tail has ten or more, concentrated among the young and risky.
LENDERS_MU = -0.35
LENDERS_YOUTH = 0.35
LENDERS_RISK = 0.45
LENDERS_SIGMA = 0.85
LENDERS_MAX = 40
#: A borrower's relationships start around an anchor (normal spread, in months of a 60-month
#: span): joint borrowing comes in sprees, which is what makes lenders concurrent.
SPREE_SPREAD = 8.0
#: A relationship lasts RELATION_MIN − 1 + Geometric(mean RELATION_MEAN) months.
RELATION_MIN = 3
RELATION_MEAN = 24.0

# ── behaviour ────────────────────────────────────────────────────────────────────────────────

#: Months simulated before the first reported month so the first file shows a seasoned book
#: (loans already running when the burn-in starts are taken up current).
BURN_IN = 12
#: Cycle k → bucket index (0 current, 1: 1–29, 2: 30–59, 3: 60–89, 4: 90–179).
BUCKET_OF_CYCLE = np.array([0, 1, 2, 3, 4, 4, 4, 4], dtype=np.int8)
#: Cycle at which an account is written off (180+ dpd).
WRITE_OFF_CYCLE = 7
BASE_ROLL = np.array([0.010, 0.38, 0.66, 0.78, 0.84])
BASE_CURE = np.array([0.0, 0.50, 0.17, 0.09, 0.03])
BASE_SETTLE = np.array([0.0, 0.0, 0.02, 0.03, 0.03])
BASE_TRANSFER = np.array([0.0, 0.0, 0.0, 0.0, 0.01])
ROLL_EXPONENT = np.array([1.0, 1.0, 0.6, 0.4, 0.3])
ROLL_CAP = np.array([0.5, 0.95, 0.97, 0.97, 0.97])
CURE_EXPONENT = -0.5
PRODUCT_RISK = np.array([1.25, 0.9, 1.0, 0.75, 0.45, 1.05])
TYPE_RISK = np.array([1.0, 1.45, 1.15, 0.55, 0.85, 1.2])
CONCURRENCY_SLOPE = 0.15
CONCURRENCY_CAP = 3.0
SHOCK_SIGMA = 0.5
#: Risk by months on book (index = months since opening, last value for all later months).
SEASONING = np.array([1.0, 1.3, 1.3, 1.2, 1.05, 1.0])
FESTIVAL_AMPLITUDE = 0.6
DECLINE_IF_BAD = 0.85
DECLINE_IF_LATE = 0.3
#: Due days stay within these days of the month (see the module docstring: exact buckets).
DUE_DAY_MIN = 5
DUE_DAY_MAX = 26
#: In daily mode an account reports this many days after its due day.
REPORT_LAG = 2
#: five_class by bucket index for open accounts; ended accounts by status (0: not reported).
FIVE_CLASS_OPEN = np.array([1, 2, 2, 2, 3], dtype=np.int8)
FIVE_CLASS_ENDED = {S_CLOSED: 1, S_SETTLED: 4, S_WRITTEN_OFF: 5, S_TRANSFERRED: 5}


def guarantee_mix(member_type: int, product: int) -> np.ndarray:
    """Probabilities of NONE, GUARANTEED, COLLATERAL, INSURED for a loan of this member/product.

    Auto loans are secured on the car; guarantee and insurance companies report the loans they
    guarantee or insure; consumer lenders buy credit insurance or partner with guarantors for a
    minority of loans.
    """
    if product == P_AUTO:
        return np.array([0.10, 0.0, 0.90, 0.0])
    if member_type == T_GI:
        return np.array([0.0, 0.55, 0.0, 0.45])
    if member_type in (T_CF, T_IP):
        return np.array([0.85, 0.07, 0.0, 0.08])
    if member_type == T_ML:
        return np.array([0.90, 0.10, 0.0, 0.0])
    if member_type == T_BK:
        return np.array([0.90, 0.05, 0.05, 0.0])
    return np.array([0.95, 0.05, 0.0, 0.0])
