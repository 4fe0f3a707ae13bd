"""Fault injection: one fault kind per validation rule of DOMAIN.md §2, with a stable name.

Each :class:`FaultKind` names the rule class it breaks (file, field, cross-field, within file,
against history), the column it touches, its severity and — as a hint for the ingest stage —
the name of the rule in ``ingest.rules`` it is meant to trigger. A kind is built to break *only*
its rule: e.g. ``dpd_without_overdue`` zeroes both overdue amounts (so overdue_principal ≤
overdue_amount still holds) on a record that is OVERDUE (so status and dpd still agree).

Record faults are placed on records that satisfy the kind's precondition (:func:`eligible`),
never two on one record and never in a file that carries a file-level fault (that file is
rejected whole, so its records would never be checked). Where they went is recorded by the
writer in the manifest: data file, line, kind, rule class, field and account id. Lines count
from the header (line 1); a file-level fault has line 0, except header faults (line 1) and the
encoding fault (the first line that is not UTF-8), as ``ingest`` reports them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from stdnum.cn import ric

from simulator import params
from simulator.industry import Industry
from simulator.months import month_end, month_start

FILE, FIELD, CROSS, WITHIN, HISTORY = "file", "field", "cross-field", "within file", "history"


@dataclass(frozen=True)
class FaultKind:
    name: str
    rule_class: str
    field: str  # the column changed; "" for the file as a whole
    severity: str  # what the rule should report: "error" or "warning"
    rule: str  # the ingest rule (ingest.rules name) this fault should trigger
    description: str

    @property
    def file_level(self) -> bool:
        return self.rule_class == FILE


def _k(*args: str) -> FaultKind:
    return FaultKind(*args)


#: Every fault kind, in the order faults are assigned.
CATALOGUE: tuple[FaultKind, ...] = (
    # field
    _k("missing_required", FIELD, "consent_ref", "error", "REQUIRED", "a required column left empty"),
    _k("bad_enum", FIELD, "guarantee", "error", "ENUM", "a code outside the column's list (PLEDGE)"),
    _k("bad_date", FIELD, "negative_notice_date", "error", "DATE_INVALID", "a date that does not exist (30 February)"),
    _k("bad_ric_checksum", FIELD, "id_number", "error", "ID_CHECKSUM", "a RIC with a wrong check digit"),
    _k("bad_ric_region", FIELD, "id_number", "error", "ID_REGION", "a RIC whose first six digits are no GB/T 2260 region (check digit recomputed)"),
    _k("bad_ric_birth_date", FIELD, "id_number", "error", "ID_BIRTH_DATE", "a RIC born on 30 February (check digit recomputed)"),
    _k("bad_mobile", FIELD, "mobile", "error", "MOBILE", "a mobile of 10 digits"),
    _k("negative_amount", FIELD, "scheduled_amount", "error", "RANGE", "a negative amount"),
    _k("bad_decimal", FIELD, "credit_amount", "error", "DECIMAL_PLACES", "an amount with three decimal places"),
    # cross-field
    _k("dpd_without_overdue", CROSS, "overdue_amount", "error", "DPD_WITHOUT_OVERDUE_AMOUNT", "dpd > 0 with overdue_amount and overdue_principal 0"),
    _k("overdue_without_dpd", CROSS, "status", "error", "OVERDUE_STATUS_WITHOUT_DPD", "status OVERDUE on a current account (dpd 0)"),
    _k("closed_with_balance", CROSS, "balance", "error", "CLOSED_WITH_BALANCE", "a CLOSED account with a balance"),
    _k("missing_closed_date", CROSS, "closed_date", "error", "CLOSED_DATE_MISSING", "an ended account without closed_date"),
    _k("maturity_before_opened", CROSS, "maturity_date", "error", "MATURITY_BEFORE_OPENED", "maturity_date the day before opened_date"),
    _k("installments_on_revolving", CROSS, "installments", "error", "INSTALLMENTS_ON_REVOLVING", "12 instalments on a REVOLVING account"),
    _k("maturity_on_revolving", CROSS, "maturity_date", "error", "MATURITY_ON_REVOLVING", "a maturity_date on a REVOLVING account"),
    _k("overdue_principal_above_balance", CROSS, "overdue_principal", "error", "OVERDUE_PRINCIPAL_ABOVE_BALANCE", "overdue_principal 100.00 above the balance (overdue_amount raised to match)"),
    _k("opened_after_as_of", CROSS, "opened_date", "error", "OPENED_AFTER_AS_OF", "a new account opened 3 days after its as_of_date"),
    _k("as_of_after_file_date", CROSS, "as_of_date", "error", "AS_OF_AFTER_FILE_DATE", "as_of_date the day after the file date"),
    _k("written_off_early", CROSS, "dpd", "warning", "WRITTEN_OFF_EARLY", "a WRITTEN_OFF account reported with dpd 60"),
    # within file
    _k("duplicate_record", WITHIN, "account_id", "error", "DUPLICATE_RECORD", "the record repeated on the next line"),
    # against history
    _k("dpd_jump", HISTORY, "dpd", "error", "DPD_JUMP", "dpd 60 days more than the days elapsed allow"),
    _k("identity_change", HISTORY, "id_number", "error", "IDENTITY_CHANGED", "the account reported for another borrower"),
    _k("missing_negative_notice", HISTORY, "negative_notice_date", "warning", "NEGATIVE_NOTICE_MISSING", "first dpd > 0 without negative_notice_date"),
    _k("opened_date_changed", HISTORY, "opened_date", "warning", "OPENED_DATE_CHANGED", "opened_date one day earlier than reported before"),
    # file
    _k("wrong_record_count", FILE, "records", "error", "RECORD_COUNT", "the control file counts one record more"),
    _k("wrong_checksum", FILE, "sha256", "error", "CHECKSUM", "the control file's sha256 is not the data file's"),
    _k("wrong_member_code", FILE, "", "error", "FILE_MEMBER", "the file is named with another member's code"),
    _k("unknown_column", FILE, "", "error", "HEADER_UNKNOWN_COLUMN", "an extra column 'remark'"),
    _k("missing_column", FILE, "consent_ref", "error", "HEADER_MISSING_COLUMN", "the consent_ref column left out"),
    _k("bad_encoding", FILE, "", "error", "ENCODING", "the file encoded in GB18030 instead of UTF-8"),
    _k("wrong_spec", FILE, "spec", "error", "SPEC_VERSION", "the control file says spec loans/2"),
    _k("duplicate_file", FILE, "sha256", "error", "DUPLICATE_FILE", "the same data file sent again under the next sequence number"),
)  # fmt: skip

FAULTS: dict[str, FaultKind] = {k.name: k for k in CATALOGUE}
RECORD_FAULTS: tuple[str, ...] = tuple(k.name for k in CATALOGUE if not k.file_level)
FILE_FAULTS: tuple[str, ...] = tuple(k.name for k in CATALOGUE if k.file_level)
GROUPS = {"all": RECORD_FAULTS + FILE_FAULTS, "record": RECORD_FAULTS, "file": FILE_FAULTS}


@dataclass(frozen=True)
class InjectedFault:
    """One fault as written: where (data file relative to the output directory, line) and what."""

    file: str
    line: int  # header = 1; 0 for a file-level fault
    kind: str
    rule_class: str
    field: str
    account_id: str


def resolve_kinds(names: Iterable[str] | None) -> tuple[str, ...]:
    """Fault kinds from names and the groups ``all``, ``record``, ``file``, in catalogue order.

    ``None`` means every record-level kind. Unknown names raise ``ValueError`` listing the
    allowed ones.
    """
    if names is None:
        return RECORD_FAULTS
    wanted: set[str] = set()
    for name in names:
        name = name.strip()
        if not name:
            continue
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif name in FAULTS:
            wanted.add(name)
        else:
            raise ValueError(
                f"unknown fault kind {name!r}; allowed: all, record, file, " + ", ".join(FAULTS)
            )
    return tuple(k.name for k in CATALOGUE if k.name in wanted)


class RecordFacts:
    """Per-record facts the preconditions of record faults need (whole-industry arrays)."""

    def __init__(self, industry: Industry, first_written: int = 0) -> None:
        r, acc = industry.records, industry.accounts
        self.status = r.status
        self.cycle = r.cycle
        account = r.account
        self.revolving = acc.product[account] == params.P_REV
        open_month = acc.open_month[account]
        self.opening = open_month == r.month
        # the previous record is in the files written (not in the burn-in or an earlier month
        # left out), so ingest has history
        self.has_history = (open_month < r.month) & (r.month > first_written)
        self.ric = industry.borrowers.id_type[acc.borrower[account]] == 0
        self.scheduled = r.scheduled > 0
        notice = industry.notice[account].astype(np.int64)
        absolute = industry.first_month + r.month.astype(np.int64)
        self.has_notice = notice > 0
        self.first_negative = (notice >= month_start(absolute)) & (notice <= month_end(absolute))
        self.prev_cycle = _previous_cycle(industry)

    def eligible(self, kind: str) -> np.ndarray:
        """Records a fault of ``kind`` can be placed on without breaking another rule."""
        overdue = self.status == params.S_OVERDUE
        open_ = self.status <= params.S_OVERDUE
        true = np.ones(len(self.status), dtype=bool)
        rules: dict[str, Callable[[], np.ndarray]] = {
            "bad_date": lambda: self.has_notice & (self.cycle > 0),
            "bad_ric_checksum": lambda: self.ric,
            "bad_ric_region": lambda: self.ric,
            "bad_ric_birth_date": lambda: self.ric,
            "negative_amount": lambda: self.scheduled,
            "dpd_without_overdue": lambda: overdue,
            "overdue_without_dpd": lambda: self.status == params.S_NORMAL,
            "closed_with_balance": lambda: self.status == params.S_CLOSED,
            "missing_closed_date": lambda: ~open_,
            "maturity_before_opened": lambda: ~self.revolving,
            "installments_on_revolving": lambda: self.revolving,
            "maturity_on_revolving": lambda: self.revolving,
            "overdue_principal_above_balance": lambda: overdue,
            "opened_after_as_of": lambda: self.opening,
            "written_off_early": lambda: self.status == params.S_WRITTEN_OFF,
            "dpd_jump": lambda: (
                overdue & self.has_history & (self.prev_cycle == self.cycle.astype(np.int64) - 1)
            ),
            "identity_change": lambda: self.has_history,
            "missing_negative_notice": lambda: overdue & self.first_negative,
            "opened_date_changed": lambda: self.has_history & open_,
        }
        return rules[kind]() if kind in rules else true


def _previous_cycle(industry: Industry) -> np.ndarray:
    """Cycle of each record's previous record of the same account, −1 when there is none."""
    r = industry.records
    out = np.full(len(r), -1, dtype=np.int64)
    last = np.full(len(industry.accounts), -1, dtype=np.int64)
    bounds = np.searchsorted(r.month, np.arange(industry.months + 1))
    for t in range(industry.months):
        sl = slice(bounds[t], bounds[t + 1])
        out[sl] = last[r.account[sl]]
        last[r.account[sl]] = r.cycle[sl]
    return out


def choose_record_faults(
    rng: np.random.Generator,
    industry: Industry,
    kinds: tuple[str, ...],
    count: int,
    excluded: np.ndarray,
    first_written: int = 0,
) -> dict[int, str]:
    """Record index → fault kind for ``count`` faults spread evenly over the record kinds (in
    catalogue order, so with fewer faults than kinds the first kinds get one each)."""
    record_kinds = [k for k in kinds if not FAULTS[k].file_level]
    if not record_kinds or count <= 0:
        return {}
    facts = RecordFacts(industry, first_written)
    taken = excluded.copy()
    chosen: dict[int, str] = {}
    per_kind, extra = divmod(count, len(record_kinds))
    for i, kind in enumerate(record_kinds):
        want = per_kind + (1 if i < extra else 0)
        candidates = np.flatnonzero(facts.eligible(kind) & ~taken)
        if len(candidates) == 0:
            raise ValueError(
                f"fault kind {kind!r} needs a record like this: {FAULTS[kind].description}; "
                "the simulation has none (simulate more borrowers or months, or leave it out)"
            )
        picked = rng.choice(candidates, size=min(want, len(candidates)), replace=False)
        taken[picked] = True
        chosen.update((int(p), kind) for p in picked)
    return chosen


# ── mutations of one record (all values are the CSV text) ───────────────────────────────────

Row = dict[str, str | None]


def _iso(text: str | None, days: int) -> str:
    assert text
    return (dt.date.fromisoformat(text) + dt.timedelta(days=days)).isoformat()


def _cents(text: str | None) -> int:
    assert text is not None
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((frac + "00")[:2]))


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def mutate(
    kind: str,
    row: Row,
    rng: np.random.Generator,
    file_date: dt.date,
    other_identity: Callable[[], Row],
) -> Row:
    """The columns a record fault of ``kind`` changes, with their new text."""
    ident = row["id_number"] or ""
    if kind == "missing_required":
        return {"consent_ref": ""}
    if kind == "bad_enum":
        return {"guarantee": "PLEDGE"}
    if kind == "bad_date":
        return {"negative_notice_date": f"{(row['as_of_date'] or '2024')[:4]}-02-30"}
    if kind == "bad_ric_checksum":
        wrong = [c for c in "0123456789X" if c != ident[17]]
        return {"id_number": ident[:17] + wrong[int(rng.integers(0, len(wrong)))]}
    if kind == "bad_ric_region":
        return {"id_number": _with_check(f"99{int(rng.integers(0, 10000)):04d}" + ident[6:17])}
    if kind == "bad_ric_birth_date":
        return {"id_number": _with_check(ident[:10] + "0230" + ident[14:17])}
    if kind == "bad_mobile":
        return {"mobile": (row["mobile"] or "13800138000")[:10]}
    if kind == "negative_amount":
        return {"scheduled_amount": "-" + (row["scheduled_amount"] or "0.00")}
    if kind == "bad_decimal":
        return {"credit_amount": (row["credit_amount"] or "0.00") + "5"}
    if kind == "dpd_without_overdue":
        return {"overdue_amount": "0.00", "overdue_principal": "0.00"}
    if kind == "overdue_without_dpd":
        return {"status": "OVERDUE"}
    if kind == "closed_with_balance":
        return {"balance": row["credit_amount"]}
    if kind == "missing_closed_date":
        return {"closed_date": ""}
    if kind == "maturity_before_opened":
        return {"maturity_date": _iso(row["opened_date"], -1)}
    if kind == "installments_on_revolving":
        return {"installments": "12"}
    if kind == "maturity_on_revolving":
        return {"maturity_date": _iso(row["as_of_date"], 365)}
    if kind == "overdue_principal_above_balance":
        principal = _cents(row["balance"]) + 10000
        overdue = max(_cents(row["overdue_amount"]), principal)
        return {"overdue_principal": _money(principal), "overdue_amount": _money(overdue)}
    if kind == "opened_after_as_of":
        return {"opened_date": _iso(row["as_of_date"], 3)}
    if kind == "as_of_after_file_date":
        return {"as_of_date": (file_date + dt.timedelta(days=1)).isoformat()}
    if kind == "written_off_early":
        return {"dpd": "60"}
    if kind == "dpd_jump":
        return {"dpd": str(int(row["dpd"] or 0) + 60)}
    if kind == "identity_change":
        return other_identity()
    if kind in ("missing_negative_notice",):
        return {"negative_notice_date": ""}
    if kind == "opened_date_changed":
        return {"opened_date": _iso(row["opened_date"], -1)}
    if kind == "duplicate_record":
        return {}
    raise ValueError(f"{kind!r} is not a record fault kind")
