"""The synthetic industry (simulator/): determinism, realism, consistency, files, faults, bulk load.

The file checks below re-implement the loans/1 rules of DOMAIN.md §2 independently of ingest/
(named as in ingest.rules so a fault's ``rule`` hint can be checked), so a clean simulation
must pass them all and every injected fault must trip exactly its rule.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from exchange.domain import (
    LOANS_V1_COLUMNS,
    MEMBER_CODE_PATTERN,
    AccountStatus,
    Guarantee,
    InstitutionType,
    Product,
)
from exchange.errors import InvalidInput
from exchange.pseudonym import ID_TYPES, IdProblem, Pseudonymiser, check_id
from simulator import (
    FAULTS,
    LOAN_STATES_SCHEMA,
    bulk_tables,
    monthly_stats,
    params,
    simulate,
    simulate_stream,
    stream_tables,
    write_files,
)
from simulator.faults import FILE_FAULTS, RECORD_FAULTS
from simulator.months import month_number
from simulator.names import MOBILE_PREFIXES
from simulator.records import RecordView
from simulator.stats import borrower_ages, lenders_per_borrower

ROOT = Path(__file__).resolve().parent.parent
PEPPER = bytes(range(32))
END = month_number(2025, 6)  # window 2023-07 … 2025-06: festivals 2024-02-10 and 2025-01-29


@pytest.fixture(scope="module")
def industry():
    """Mid-size industry for the distribution checks (~0.9 s)."""
    return simulate(members=30, borrowers=20_000, months=24, seed=11, end_month=END)


@pytest.fixture(scope="module")
def small():
    """Small industry for file-level checks."""
    return simulate(members=10, borrowers=3_000, months=12, seed=5, end_month=END)


# ── determinism ──────────────────────────────────────────────────────────────────────────────


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    args = dict(members=8, borrowers=1_500, months=6, end_month=END)
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        ind = simulate(seed=seed, **args)
        write_files(ind, tmp_path / name, gzip=True, error_rate=0.01, faults=["all"])
        runs[name] = tree_bytes(tmp_path / name)
    assert runs["a"] == runs["b"]
    assert len(runs["a"]) > 8 * 6 * 2
    common = set(runs["a"]) & set(runs["c"])
    assert any(runs["a"][k] != runs["c"][k] for k in common)


# ── members and borrowers ────────────────────────────────────────────────────────────────────


def test_members_cover_every_type_with_heavy_tailed_sizes(industry):
    assert {m.type for m in industry.members} == set(InstitutionType)
    codes = [m.code for m in industry.members]
    assert len(set(codes)) == len(codes)
    assert all(re.match(MEMBER_CODE_PATTERN, c) for c in codes)
    names = [m.name for m in industry.members]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{4,20}(公司|银行)?", n) for n in names), names
    assert all(n.endswith("公司") for n in names)
    assert all(m.joined < industry.first_day() for m in industry.members)
    # heavy tail: the biggest member has many times the median member's accounts and the five
    # biggest hold about half the industry (lognormal sizes with sigma ~1: over seeds 1–8 the
    # ratio ran 4.6–21 and the top-five share 0.44–0.66)
    per_member = np.bincount(industry.accounts.member, minlength=len(codes))
    assert per_member.max() > 3 * np.median(per_member)
    assert 0.35 < np.sort(per_member)[-5:].sum() / per_member.sum() < 0.8


def test_every_identity_number_is_valid_and_matches_the_person(industry):
    b = industry.borrowers
    today = industry.last_day()
    types = [ID_TYPES[t] for t in b.id_type]
    assert all(check_id(t, n, today=today) is None for t, n in zip(types, b.id_number, strict=True))
    ric = b.id_type == 0
    assert ric.mean() > 0.99 and set(types) == set(ID_TYPES)
    birth = b.birth.astype("datetime64[D]").astype(str)
    born = np.array([n[6:14] for n in b.id_number[ric]])
    assert (born == np.char.replace(birth[ric], "-", "")).all()
    sex_digit = np.array([int(n[16]) for n in b.id_number[ric]])
    assert ((sex_digit % 2 == 1) == b.male[ric]).all()
    assert len(set(b.id_number.tolist())) == len(b)


def test_names_mobiles_and_ages_are_plausible(industry):
    b = industry.borrowers
    han = r"[\u4e00-\u9fff]"
    pattern = re.compile(rf"{han}{{2,4}}|{han}{{2,5}}·{han}{{2,4}}")
    assert all(pattern.fullmatch(n) for n in b.name)
    surname = np.array([n[0] for n in b.name])
    # the five commonest surnames (王李张刘陈) cover ~30 % of Han names
    assert 0.22 < np.isin(surname, list("王李张刘陈")).mean() < 0.38
    mobiles = b.mobile[b.mobile != ""]
    assert 0.85 < len(mobiles) / len(b) < 0.97
    prefixes = {str(p) for p, _ in MOBILE_PREFIXES}
    assert all(re.fullmatch(r"1[3-9]\d{9}", m) and m[:3] in prefixes for m in mobiles)
    age = borrower_ages(industry)
    assert age.min() >= 18 and age.max() <= 65
    # internet consumer credit is young: median late twenties, few over 50
    assert 25 <= np.median(age) <= 33 and (age > 50).mean() < 0.06


# ── multi-borrowing and delinquency ──────────────────────────────────────────────────────────


def test_lenders_per_borrower_is_heavy_tailed_and_younger_borrow_more(industry):
    lenders = lenders_per_borrower(industry)
    seen = lenders > 0
    assert seen.mean() > 0.95  # nearly every borrower appears in the files
    # Chinese bureau data on online consumer credit: most borrowers have one or two lenders,
    # a quarter or so three or more, a thin tail ten or more.
    assert 0.10 < (lenders[seen] >= 3).mean() < 0.30
    assert (lenders[seen] <= 2).mean() > 0.6
    assert (lenders >= 10).sum() >= 10
    age = borrower_ages(industry)
    young, old = lenders[seen & (age < 30)], lenders[seen & (age >= 40)]
    assert young.mean() > 1.2 * old.mean()


def test_multi_borrowers_concentrate_at_platforms_and_microloan_companies(industry):
    acc = industry.accounts
    many = lenders_per_borrower(industry)[acc.borrower] >= 5
    kind = industry.member_types[acc.member]
    platforms = np.isin(kind, [params.T_IP, params.T_ML])
    # TYPE_AFFINITY steers heavy multi-borrowers to platforms and microloan companies and away
    # from banks; with only 30 members a 10-lender borrower still meets every type, so the
    # contrast is moderate against the rest (1.2–2.0 over seeds 1–8) and strong against banks
    # (2.9–4.3)
    assert many[platforms].mean() > 1.1 * many[~platforms].mean()
    assert many[platforms].mean() > 2.5 * many[kind == params.T_BK].mean()


def test_30_plus_rate_of_open_accounts_is_plausible_every_month(industry):
    stats = monthly_stats(industry)
    # industry-wide 30+ count rates of Chinese consumer lenders run at a few per cent
    assert ((stats.rate30 > 0.02) & (stats.rate30 < 0.08)).all(), stats.rate30
    assert (stats.rate90 < stats.rate30).all()
    assert (stats.written_off > 0).all() and (stats.opened > 0).all()
    # the book is roughly stationary: neither collapsing nor exploding over the window
    assert 0.8 < stats.open_accounts[-1] / stats.open_accounts[0] < 1.3


def test_spring_festival_months_roll_into_delinquency_more(industry):
    from exchange.spring_festival import festival_share

    stats = monthly_stats(industry)
    roll = stats.roll_rate
    share = np.zeros(industry.months)
    for t in range(industry.months):
        year, month = divmod(industry.first_month + t, 12)
        share[t] = festival_share(year, month + 1)
    others = np.nanmean(roll[share == 0])
    festival_months = np.flatnonzero(share >= 0.5)
    assert len(festival_months) == 2
    # amplitude 0.6 × share ≥ 0.5 → ≥ 30 % more rolls; monthly noise here is a few per cent
    for t in festival_months:
        assert roll[t] > 1.15 * others, (industry.month_labels()[t], roll[t], others)


def test_more_concurrent_lenders_roll_more(industry):
    r, acc = industry.records, industry.accounts
    lenders = lenders_per_borrower(industry)[acc.borrower[r.account]]
    previous = np.full(len(acc), -1)
    counts = np.zeros((2, 2))
    bounds = np.searchsorted(r.month, np.arange(industry.months + 1))
    for t in range(industry.months):
        sl = slice(bounds[t], bounds[t + 1])
        was_current = previous[r.account[sl]] == 0
        rolled = was_current & (r.cycle[sl] > 0)
        for g, sel in enumerate((lenders[sl] == 1, lenders[sl] >= 5)):
            counts[g] += [(was_current & sel).sum(), (rolled & sel).sum()]
        previous[r.account[sl]] = np.where(r.status[sl] <= 1, r.cycle[sl], -1)
    one, many = counts[:, 1] / counts[:, 0]
    assert many > 1.5 * one


def test_write_offs_come_at_180_dpd_after_six_cycles(industry):
    view = RecordView(industry, np.arange(len(industry.records)), daily=False)
    wo = view.status == params.S_WRITTEN_OFF
    assert wo.sum() > 100
    assert (view.dpd[wo] >= 180).all() and (view.cycle[wo] == params.WRITE_OFF_CYCLE).all()
    open_ = view.status <= params.S_OVERDUE
    assert view.dpd[open_].max() < 180


# ── every record consistent (DOMAIN.md §2 cross-field rules), vectorised ─────────────────────


@pytest.mark.parametrize("daily", [False, True])
def test_every_record_is_consistent(industry, daily):
    r, acc = industry.records, industry.accounts
    v = RecordView(industry, np.arange(len(r)), daily=daily)
    status, dpd = v.status, v.dpd
    open_ = status <= params.S_OVERDUE
    ended = ~open_
    bal, over, over_p = r.balance, r.overdue, r.overdue_principal
    assert (np.r_[bal, over, over_p, r.scheduled, r.paid] >= 0).all()
    assert (acc.amount > 0).all() and (acc.amount % 1 == 0).all()
    assert ((dpd > 0) == (over > 0)).all()
    assert ((status == params.S_OVERDUE) == (open_ & (dpd > 0))).all()
    assert (over_p <= bal).all() and (over_p <= over).all()
    closed = status == params.S_CLOSED
    assert (bal[closed] == 0).all()
    assert (v.closed[ended] > 0).all() and (v.closed[open_] == 0).all()
    assert (v.closed[ended] <= v.as_of[ended]).all()
    assert (v.closed[ended] >= v.opened[ended]).all()
    assert (v.as_of >= v.opened).all()
    rev = v.revolving
    term = acc.term[v.account]
    assert (term[rev] == 0).all() and (term[~rev] >= 1).all()
    assert (v.maturity[~rev] >= v.opened[~rev]).all()
    # negative notice: on every record with dpd > 0, told before the record's date
    assert (v.notice_valid[dpd > 0]).all()
    assert (v.notice[dpd > 0] <= v.as_of[dpd > 0]).all()
    # each account reports every month from its first record until it ends (once) or the
    # window closes, and dpd never grows by more than the days elapsed
    order = np.lexsort((r.month, r.account))
    a, m = r.account[order], r.month[order].astype(int)
    same = a[1:] == a[:-1]
    assert (m[1:][same] - m[:-1][same] == 1).all()
    assert not ended[order][:-1][same].any()  # nothing after an ended record
    last = np.r_[~same, True]
    assert (ended[order][last] | (m[last] == industry.months - 1)).all()
    growth = dpd[order][1:][same] - dpd[order][:-1][same]
    elapsed = v.as_of[order][1:][same] - v.as_of[order][:-1][same]
    assert (growth <= elapsed).all() and (elapsed > 0).all()


def test_every_code_appears(industry):
    acc, r = industry.accounts, industry.records
    assert {params.PRODUCTS[p] for p in np.unique(acc.product)} == set(Product)
    assert {params.GUARANTEES[g] for g in np.unique(acc.guarantee)} == set(Guarantee)
    assert {params.STATUSES[s] for s in np.unique(r.status)} == set(AccountStatus)
    assert {params.FREQUENCIES[f].value for f in np.unique(acc.frequency)} == {"M", "B", "I"}
    # realistic amounts and terms per product (medians, CNY and months)
    amount = acc.amount / 100
    for product, low, high in (
        (params.P_BNPL, 200, 2_000),
        (params.P_CASH, 2_000, 12_000),
        (params.P_AUTO, 60_000, 250_000),
    ):
        assert low < np.median(amount[acc.product == product]) < high
    assert set(np.unique(acc.term[acc.product == params.P_AUTO])) <= {24, 36, 48, 60}
    assert set(np.unique(acc.term[acc.product == params.P_INST])) <= set(range(3, 37))


# ── files: independent loans/1 checks ──────────────────────────────────────────────────────

ENUMS = {
    "record_type": {"A", "D"},
    "id_type": set(ID_TYPES),
    "product": {p.value for p in Product},
    "guarantee": {g.value for g in Guarantee},
    "frequency": {"M", "W", "D", "B", "I"},
    "status": {s.value for s in AccountStatus},
    "currency": {"CNY"},
}
REQUIRED = (
    "record_type",
    "account_id",
    "id_type",
    "id_number",
    "name",
    "product",
    "opened_date",
    "credit_amount",
    "installments",
    "as_of_date",
    "balance",
    "dpd",
    "status",
    "consent_ref",
)
AMOUNTS = (
    "credit_amount",
    "balance",
    "scheduled_amount",
    "paid_amount",
    "overdue_amount",
    "overdue_principal",
)
DATES = ("opened_date", "maturity_date", "as_of_date", "closed_date", "negative_notice_date")
ID_RULES = {
    IdProblem.CHECKSUM: "ID_CHECKSUM",
    IdProblem.REGION: "ID_REGION",
    IdProblem.BIRTH_DATE: "ID_BIRTH_DATE",
    IdProblem.LENGTH: "ID_LENGTH",
    IdProblem.FORMAT: "ID_FORMAT",
}
FILE_NAME = re.compile(r"^([A-Z][A-Z0-9]{2,11})_(\d{8})_(\d{3})\.loans\.csv(\.gz)?$")


@functools.cache
def cached_check_id(id_type: str, number: str, today: dt.date) -> IdProblem | None:
    return check_id(id_type, number, today=today)


def record_issues(row: dict[str, str], file_date: dt.date) -> set[str]:
    """Field and cross-field rules of one record (cross-field only on valid fields)."""
    issues: set[str] = set()
    bad: set[str] = set()
    for c in REQUIRED:
        if not row[c]:
            issues.add("REQUIRED")
            bad.add(c)
    for c, allowed in ENUMS.items():
        if row[c] and row[c] not in allowed:
            issues.add("ENUM")
            bad.add(c)
    dates: dict[str, dt.date | None] = {}
    for c in DATES:
        dates[c] = None
        if row[c]:
            with contextlib.suppress(ValueError):
                dates[c] = (
                    dt.date.fromisoformat(row[c])
                    if re.fullmatch(r"\d{4}-\d\d-\d\d", row[c])
                    else None
                )
            if dates[c] is None:
                issues.add("DATE_INVALID")
                bad.add(c)
    cents: dict[str, int] = {}
    for c in AMOUNTS:
        m = re.fullmatch(r"(-?)(\d+)(?:\.(\d+))?", row[c] or "0")
        if not m:
            issues.add("DECIMAL_TYPE")
        elif m.group(3) and len(m.group(3)) > 2:
            issues.add("DECIMAL_PLACES")
        elif m.group(1) or (
            c == "credit_amount" and int(m.group(2) + (m.group(3) or "").ljust(2, "0")) == 0
        ):
            issues.add("RANGE")
        else:
            cents[c] = int(m.group(2)) * 100 + int((m.group(3) or "").ljust(2, "0"))
            continue
        bad.add(c)
    if row["id_type"] in ID_TYPES:
        problem = cached_check_id(row["id_type"], row["id_number"], file_date)
        if problem is not None:
            issues.add(ID_RULES[problem])
    if row["mobile"] and not re.fullmatch(r"1\d{10}", row["mobile"]):
        issues.add("MOBILE")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", row["account_id"]):
        issues.add("ACCOUNT_ID")
    if row["five_class"] not in ("", "1", "2", "3", "4", "5"):
        issues.add("ENUM")
    if row["province"] and not re.fullmatch(r"\d\d", row["province"]):
        issues.add("PROVINCE")
    if issues & {
        "REQUIRED",
        "ENUM",
        "DATE_INVALID",
        "DECIMAL_TYPE",
        "DECIMAL_PLACES",
        "RANGE",
    } and bad & {
        "product",
        "status",
        "opened_date",
        "as_of_date",
        "balance",
        "overdue_amount",
        "overdue_principal",
    }:
        return issues
    dpd, inst = int(row["dpd"]), int(row["installments"])
    opened, as_of, maturity, closed = (
        dates[c] for c in ("opened_date", "as_of_date", "maturity_date", "closed_date")
    )
    rev = row["product"] == "REVOLVING"
    status = row["status"]
    ended = status not in ("NORMAL", "OVERDUE")
    checks = {
        "OPENED_AFTER_AS_OF": opened and as_of and opened > as_of,
        "MATURITY_BEFORE_OPENED": maturity and opened and maturity < opened,
        "MATURITY_ON_REVOLVING": rev and row["maturity_date"],
        "INSTALLMENTS_ZERO": not rev and inst == 0,
        "INSTALLMENTS_ON_REVOLVING": rev and inst != 0,
        "AS_OF_AFTER_FILE_DATE": as_of and as_of > file_date,
        "OVERDUE_PRINCIPAL_ABOVE_BALANCE": cents.get("overdue_principal", 0)
        > cents.get("balance", 0),
        "OVERDUE_PRINCIPAL_ABOVE_OVERDUE": cents.get("overdue_principal", 0)
        > cents.get("overdue_amount", 0),
        "DPD_WITHOUT_OVERDUE_AMOUNT": dpd > 0 and cents.get("overdue_amount") == 0,
        "OVERDUE_AMOUNT_WITHOUT_DPD": dpd == 0 and cents.get("overdue_amount", 0) > 0,
        "OVERDUE_STATUS_WITHOUT_DPD": status == "OVERDUE" and dpd == 0,
        "DPD_ON_NORMAL_STATUS": status == "NORMAL" and dpd > 0,
        "CLOSED_WITH_BALANCE": status == "CLOSED" and cents.get("balance", 0) != 0,
        "CLOSED_DATE_MISSING": ended and not row["closed_date"],
        "WRITTEN_OFF_EARLY": status == "WRITTEN_OFF" and dpd < 90,
        "CLOSED_DATE_OUT_OF_RANGE": closed and opened and as_of and not opened <= closed <= as_of,
        "CLOSED_DATE_ON_OPEN_ACCOUNT": not ended and row["closed_date"],
    }
    return issues | {name for name, broken in checks.items() if broken}


def is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_tree(root: Path) -> dict[tuple[str, int], set[str]]:
    """Every issue of every file under ``root``, keyed by (data file, line): line 0 is the
    file, 1 the header, an encoding problem the first line that is not UTF-8.

    Files are processed in file-date order with a history of loaded states per account: only
    records without any issue update it (so one fault never spills onto the next month).
    """
    manifest = json.loads((root / "manifest.json").read_text())
    issues: dict[tuple[str, int], set[str]] = defaultdict(set)
    history: dict[tuple[str, str], dict[str, object]] = {}
    seen_sha: set[str] = set()
    for entry in sorted(manifest["files"], key=lambda f: (f["file_date"], f["data"])):
        data_path, ctl_path = root / entry["data"], root / entry["control"]
        key = entry["data"]
        payload = data_path.read_bytes()
        control = json.loads(ctl_path.read_text())
        folder = data_path.parent.name
        name = FILE_NAME.match(data_path.name)
        assert name, data_path.name
        file_date = dt.datetime.strptime(name.group(2), "%Y%m%d").date()
        file_issues = set()
        if name.group(1) != folder:
            file_issues.add("FILE_MEMBER")
        assert set(control) == {"spec", "file", "sha256", "records", "as_of"}
        assert control["file"] == data_path.name
        if control["spec"] != "loans/1":
            file_issues.add("SPEC_VERSION")
        digest = hashlib.sha256(payload).hexdigest()
        if control["sha256"] != digest:
            file_issues.add("CHECKSUM")
        if digest in seen_sha:
            file_issues.add("DUPLICATE_FILE")
        seen_sha.add(digest)
        if data_path.name.endswith(".gz"):
            payload = gzip.decompress(payload)
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            lines = payload.split(b"\r\n")
            first_bad = next(i for i, x in enumerate(lines, 1) if not is_utf8(x))
            issues[(key, first_bad)].add("ENCODING")
            if file_issues:
                issues[(key, 0)] |= file_issues
            continue
        assert "\r\n" in text or text.count("\n") == 1
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header, body = rows[0], rows[1:]
        if set(header) - set(LOANS_V1_COLUMNS):
            issues[(key, 1)].add("HEADER_UNKNOWN_COLUMN")
        if set(LOANS_V1_COLUMNS) - set(header):
            issues[(key, 1)].add("HEADER_MISSING_COLUMN")
        if control["records"] != len(body):
            file_issues.add("RECORD_COUNT")
        if file_issues:
            issues[(key, 0)] |= file_issues
        if (key, 1) in issues or file_issues:
            continue
        assert header == list(LOANS_V1_COLUMNS)
        seen: dict[tuple[str, str], int] = {}
        records = [dict(zip(header, values, strict=True)) for values in body]
        for line, row in enumerate(records, start=2):
            found = record_issues(row, file_date)
            assert row["as_of_date"] == control["as_of"] or "AS_OF_AFTER_FILE_DATE" in found
            ident = (row["account_id"], row["as_of_date"])
            if ident in seen:
                found.add("DUPLICATE_RECORD")
                issues[(key, seen[ident])].add("DUPLICATE_RECORD")
            seen[ident] = line
            past = history.get((folder, row["account_id"]))
            dpd = int(row["dpd"]) if row["dpd"].isdigit() else 0
            if past is not None:
                elapsed = (dt.date.fromisoformat(row["as_of_date"]) - past["as_of"]).days  # type: ignore[operator]
                if dpd - past["dpd"] > elapsed:  # type: ignore[operator]
                    found.add("DPD_JUMP")
                if (row["id_type"], row["id_number"]) != past["identity"]:
                    found.add("IDENTITY_CHANGED")
                if row["opened_date"] != past["opened"]:
                    found.add("OPENED_DATE_CHANGED")
            if dpd > 0 and not (past and past["negative"]) and not row["negative_notice_date"]:
                found.add("NEGATIVE_NOTICE_MISSING")
            if found:
                issues[(key, line)] |= found
            else:
                history[(folder, row["account_id"])] = {
                    "as_of": dt.date.fromisoformat(row["as_of_date"]),
                    "dpd": dpd,
                    "identity": (row["id_type"], row["id_number"]),
                    "opened": row["opened_date"],
                    "negative": bool(past and past["negative"]) or dpd > 0,
                }
    return dict(issues)


@pytest.mark.parametrize("mode", ["monthly", "daily", "gzip"])
def test_clean_files_pass_every_rule_and_controls_are_right(small, tmp_path, mode):
    daily = mode == "daily"
    # daily mode writes a file per member and day: a shorter window keeps the test quick
    ind = simulate(members=8, borrowers=2_000, months=4, seed=6, end_month=END) if daily else small
    result = write_files(ind, tmp_path, daily=daily, gzip=mode == "gzip")
    assert result.faults == []
    assert check_tree(tmp_path) == {}
    files = result.files
    if daily:
        assert len(files) > len(ind.members) * ind.months * 10  # many days per member and month
        assert len({f.as_of for f in files}) > ind.months * 25
    else:
        assert len(files) == len(ind.members) * ind.months
    assert sum(f.records for f in files) == len(ind.records)
    for f in files[:50]:
        data = (tmp_path / f.data).read_bytes()
        control = json.loads((tmp_path / f.control).read_text())
        assert control == {
            "spec": "loans/1",
            "file": Path(f.data).name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "records": f.records,
            "as_of": f.as_of,
        }
        assert f.file_date >= f.as_of


def assert_faults_where_the_manifest_says(root: Path) -> list[dict]:
    """Every manifest fault trips its rule on its line, and nothing else trips anything."""
    manifest = json.loads((root / "manifest.json").read_text())
    found = check_tree(root)
    expected: dict[tuple[str, int], set[str]] = defaultdict(set)
    for f in manifest["faults"]:
        expected[(f["file"], f["line"])].add(FAULTS[f["kind"]].rule)
        if f["kind"] == "duplicate_record":  # the first copy is rejected too
            expected[(f["file"], f["line"] - 1)].add("DUPLICATE_RECORD")
    for where, rules in expected.items():
        assert rules <= found.get(where, set()), (where, rules, found.get(where))
    assert set(found) == set(expected), set(found) ^ set(expected)
    return manifest["faults"]


def test_injected_faults_are_where_the_manifest_says(small, tmp_path):
    result = write_files(small, tmp_path, error_rate=0.004, faults=["all"])
    faults = assert_faults_where_the_manifest_says(tmp_path)
    assert {f["kind"] for f in faults} == set(FAULTS)
    record_faults = [f for f in faults if f["line"] > 0]
    assert len(record_faults) >= round(0.004 * len(small.records))
    assert len(record_faults) == len({(f["file"], f["line"]) for f in record_faults})
    # the manifest's account is the one on that line
    f = next(f for f in record_faults if f["kind"] == "bad_enum")
    rows = (tmp_path / f["file"]).read_text().splitlines()
    assert rows[f["line"] - 1].split(",")[1] == f["account_id"]
    assert len(result.faults) == len(faults)


def test_last_months_writes_only_the_latest_files_and_faults_stay_in_them(small, tmp_path):
    result = write_files(small, tmp_path, last_months=2, faults=["record"])
    assert {f.as_of for f in result.files} == {"2025-05-31", "2025-06-30"}
    faults = assert_faults_where_the_manifest_says(tmp_path)
    assert {f["kind"] for f in faults} == set(RECORD_FAULTS)
    # with only the latest month written, no record has history to break
    with pytest.raises(ValueError, match="fault kind 'dpd_jump' needs"):
        write_files(small, tmp_path / "one", last_months=1, faults=["dpd_jump"])


def test_fault_catalogue_names_are_stable_and_unique():
    assert len(FAULTS) == len(RECORD_FAULTS) + len(FILE_FAULTS)
    assert all(re.fullmatch(r"[a-z_]+", k) for k in FAULTS)
    assert {k.rule_class for k in FAULTS.values()} == {
        "file",
        "field",
        "cross-field",
        "within file",
        "history",
    }
    with pytest.raises(ValueError, match="unknown fault kind 'nope'"):
        write_files(
            simulate(members=6, borrowers=50, months=2, end_month=END),
            Path("/nonexistent-dir-x"),
            faults=["nope"],
        )


# ── bulk load ────────────────────────────────────────────────────────────────────────────────


def ddl_columns(table: str) -> list[tuple[str, str]]:
    sql = (ROOT / "sql" / "migrations" / "0001_initial.sql").read_text()
    body = re.search(rf"CREATE TABLE IF NOT EXISTS {table}\s*\((.*?)\n\)\s*ENGINE", sql, re.S)
    assert body
    columns = []
    for line in body.group(1).splitlines():
        line = line.split("--")[0].strip().rstrip(",")
        if line and "MATERIALIZED" not in line:
            name, kind = line.split(None, 1)
            columns.append((name, kind.strip()))
    return columns


ARROW_FOR = {
    "String": pa.string(), "LowCardinality(String)": pa.string(), "FixedString(64)": pa.string(),
    "Date": pa.date32(), "Nullable(Date)": pa.date32(), "Decimal(18, 2)": pa.decimal128(18, 2),
    "UInt8": pa.uint8(), "UInt16": pa.uint16(), "UInt32": pa.uint32(), "UInt64": pa.uint64(),
    "Array(LowCardinality(String))": pa.list_(pa.string()), "DateTime64(3, 'UTC')": pa.timestamp("ms", tz="UTC"),
}  # fmt: skip


def test_bulk_tables_have_exactly_loan_states_columns_and_no_raw_identifiers():
    ind = simulate(members=8, borrowers=1_000, months=4, seed=9, end_month=END)
    ddl = ddl_columns("loan_states")
    assert [f.name for f in LOAN_STATES_SCHEMA] == [name for name, _ in ddl]
    for field, (_, kind) in zip(LOAN_STATES_SCHEMA, ddl, strict=True):
        assert field.type == ARROW_FOR[kind], (field.name, kind)
        assert field.nullable == kind.startswith("Nullable"), field.name
    pseudonymiser = Pseudonymiser(PEPPER)
    tables = list(bulk_tables(ind, pseudonymiser, chunk_rows=2_000))
    assert all(t.schema == LOAN_STATES_SCHEMA for t in tables)
    table = pa.concat_tables(tables)
    assert table.num_rows == len(ind.records) and len(tables) > 1
    b = ind.borrowers
    raw = set(b.id_number.tolist()) | set(b.name.tolist()) | (set(b.mobile.tolist()) - {""})
    lengths = sorted({len(x) for x in raw})
    for column in table.column_names:
        if pa.types.is_string(table.schema.field(column).type):
            values = set(table.column(column).unique().to_pylist())
        elif pa.types.is_list(table.schema.field(column).type):
            values = {v for lst in table.column(column).to_pylist() for v in lst}
        else:
            continue
        for v in values:
            assert v not in raw, column
            assert not any(v[i : i + k] in raw for k in lengths for i in range(len(v) - k + 1)), (
                column
            )
    first = table.slice(0, 1).to_pylist()[0]
    person = int(ind.accounts.borrower[ind.records.account[0]])
    assert first["borrower_key"] == pseudonymiser.borrower_key(
        ID_TYPES[b.id_type[person]], b.id_number[person]
    )
    assert first["birth_year"] == int(str(b.birth[person].astype("datetime64[D]"))[:4])
    assert first["line"] == 2 and first["load_seq"] == 1


def test_streamed_months_give_exactly_the_bulk_rows_of_the_whole_simulation():
    """simulate_stream + stream_tables: the same loan_states rows, chunks and order as
    simulate + bulk_tables (the same seed drives the same draws, month by month)."""
    args = {"members": 9, "borrowers": 2_500, "months": 5, "seed": 4, "end_month": END}
    pseudonymiser = Pseudonymiser(PEPPER)
    industry = simulate(**args)
    whole = list(bulk_tables(industry, pseudonymiser, chunk_rows=2_500))
    stream = simulate_stream(**args)
    streamed = list(stream_tables(stream, pseudonymiser, chunk_rows=2_500))
    assert len(whole) == len(streamed) > args["months"]
    labels = industry.month_labels()
    for table, (month, part) in zip(whole, streamed, strict=True):
        assert part.equals(table)
        as_of = {d.strftime("%Y-%m") for d in part.column("as_of_date").to_pylist()}
        assert as_of == {labels[month]}
    assert sorted({m for m, _ in streamed}) == list(range(args["months"]))
    with pytest.raises(RuntimeError, match="iterated once"):
        next(stream.months())


def test_load_into_a_real_chdb_warehouse(tmp_path):
    """A fresh chDB in a subprocess (one chDB data path per process)."""
    pytest.importorskip("warehouse")
    script = textwrap.dedent(
        f"""
        import json
        from exchange.pseudonym import Pseudonymiser
        from simulator import load_into, simulate
        from simulator.months import month_number
        from warehouse import connect, migrate
        ind = simulate(members=8, borrowers=800, months=3, seed=2, end_month=month_number(2025, 6))
        with connect("chdb://{tmp_path / "wh"}") as wh:
            migrate(wh)
            n = load_into(wh, ind, Pseudonymiser(bytes(range(32))), chunk_rows=5000)
            for table in ("loan_states", "accounts_current", "account_months"):
                wh.optimize(table)
            rows = wh.table_rows()
        print(json.dumps({{"loaded": n, "records": len(ind.records), "rows": rows,
                           "accounts": len(set(ind.records.account.tolist()))}}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded"] == out["records"] == out["rows"]["loan_states"]
    assert out["rows"]["account_months"] == out["records"]
    assert out["rows"]["accounts_current"] == out["accounts"]


# ── command line ────────────────────────────────────────────────────────────────────────────


def test_cli_writes_files_and_prints_a_summary(jdx_home, tmp_path):
    from cli import _register, cli

    _register()
    out = tmp_path / "files"
    args = [
        "simulate",
        "--members",
        "7",
        "--borrowers",
        "400",
        "--months",
        "3",
        "--seed",
        "2",
        "--out",
        str(out),
        "--end-month",
        "2025-03",
        "--gzip",
        "--faults",
        "bad_enum,wrong_checksum",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "members         7 (CONSUMER_FINANCE" in result.output
    assert "30+ dpd" in result.output and "2 faults injected" in result.output
    assert len(list(out.rglob("*.loans.csv.gz"))) == 7 * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--members", "3"], "members must be at least 6"),
        (["--end-month", "2025-13"], "--end-month: expected a month as YYYY-MM"),
        (["--faults", "bad_enum,nope"], "--faults: unknown fault kind 'nope'"),
        (["--months", "0"], "months must be 1–120"),
    ],
)
def test_cli_bad_arguments_are_one_line_errors(jdx_home, tmp_path, args, message):
    from cli import _register, cli

    _register()
    result = CliRunner().invoke(
        cli, ["simulate", "--borrowers", "50", "--out", str(tmp_path / "o"), *args]
    )
    assert isinstance(result.exception, InvalidInput), result.output
    assert message in str(result.exception)


def test_cli_refuses_a_non_empty_output_directory(jdx_home, tmp_path):
    from cli import _register, cli

    _register()
    (tmp_path / "x").write_text("keep me")
    result = CliRunner().invoke(cli, ["simulate", "--borrowers", "50", "--out", str(tmp_path)])
    assert isinstance(result.exception, InvalidInput) and "not empty" in str(result.exception)
    assert (tmp_path / "x").read_text() == "keep me"
