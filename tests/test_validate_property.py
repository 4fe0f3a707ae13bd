"""Property tests: whatever a member sends, validation answers with coded issues, never an error.

* mutated files: valid records with fields replaced by random text, edge values and control
  characters (≥ 10 000 records over the examples), shuffled columns, CRLF, gzip, history and
  other members' data → only catalogue codes, sane lines, untouched records stay clean;
* random bytes as data and control files, random file names → never an exception;
* the fast pyarrow reader and the exact csv-module reader agree on values and line numbers;
* the vectorised identity checks agree with ``exchange.pseudonym.check_id``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loanfiles import FILE_NAME, MEMBER, PSEUDONYMISER, RIC, RIC_2, control_for, csv_bytes, record
from stdnum.cn import ric

from exchange.domain import LOANS_V1_COLUMNS
from exchange.identity import PROBLEMS, check_ids
from exchange.pseudonym import check_id, normalise_name
from exchange.regions import listed_codes
from ingest.parse import _read_exact, read_records
from ingest.rules import ISSUE_SCHEMA, RULES
from ingest.validate import validate_submission

FULL_RIC = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
EDGE = [
    "", " ", "0", "-0", "-1", "1e5", "+5", ".5", "5.", "9" * 40, "0.001", "NaN", "2024-02-30", "2024-02-29",
    "0000-01-01", "1899-12-31", "2200-01-01", "20240131", '"', '""', ",", "\n", "\r\n", "\r", "\x00", "\ufeff",
    "𝔘𝔫𝔦", "张三", " NORMAL", "normal", "REVOLVING", "D", "A", "RIC", "PASSPORT", RIC, RIC_2, RIC.lower(),
    RIC[:17], "X" * 5000, "1" * 11, "23800138000", "99", "11", "CNY", "XXX",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(EDGE),
    st.text(max_size=24),
    st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{0,4})?", fullmatch=True),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
)
FAST = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[list[dict[str, str]], list[str], set[int], bool, bool]:
    n = draw(st.integers(1, 100))
    records = [record(account_id=f"L-{i:05d}", id_number=RIC if i % 2 else RIC_2) for i in range(n)]
    touched: set[int] = set()
    for i, rec in enumerate(records):
        for _ in range(draw(st.integers(0, 3))):
            rec[draw(st.sampled_from(LOANS_V1_COLUMNS))] = draw(VALUES)
            touched.add(i)
    columns = list(LOANS_V1_COLUMNS)
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    return records, columns, touched, draw(st.booleans()), draw(st.booleans())


def _history(n: int) -> pa.Table:
    return pa.table(
        {
            "account_id": [f"L-{i:05d}" for i in range(0, n, 3)],
            "as_of_date": pa.array([dt.date(2025, 1, 1)] * len(range(0, n, 3)), pa.date32()),
            "dpd": pa.array([i % 7 for i in range(0, n, 3)], pa.int32()),
            "borrower_key": [
                PSEUDONYMISER.borrower_key("RIC", RIC if i % 2 else RIC_2) for i in range(0, n, 3)
            ],
            "opened_date": pa.array([dt.date(2024, 6, 15)] * len(range(0, n, 3)), pa.date32()),
            "ever_negative": [bool(i % 2) for i in range(0, n, 3)],
        }
    )


OTHERS = pa.table(
    {
        "borrower_key": [PSEUDONYMISER.borrower_key("RIC", RIC)],
        "name_hash": [PSEUDONYMISER.name_hash("李四")],
    }
)


def _check_outcome(result, lines_allowed: set[int]) -> None:  # type: ignore[no-untyped-def]
    issues = result.issues
    assert issues.schema == ISSUE_SCHEMA
    for issue in issues.to_pylist():
        rule = RULES[issue["code"]]
        assert issue["severity"] == rule.severity.value
        assert issue["line"] in lines_allowed or issue["line"] in (0, 1), issue
        assert not FULL_RIC.search(issue["value"]) and not FULL_RIC.search(issue["message"]), issue
        assert len(issue["value"]) <= 100
    assert result.accepted.num_rows + result.rejected == result.records or result.file_rejected
    assert result.status in ("accepted", "partially_accepted", "rejected", "duplicate")


@pytest.mark.slow
@FAST
@given(mutated_files())
def test_mutated_records_only_give_coded_issues(case):
    records, columns, touched, crlf, compressed = case
    data = csv_bytes(records, columns, crlf=crlf)
    name = FILE_NAME + (".gz" if compressed else "")
    if compressed:
        data = gzip.compress(data, mtime=0)
    control = control_for(name, data, len(records))
    result = validate_submission(
        name,
        data,
        control,
        uploader=MEMBER,
        pseudonymiser=PSEUDONYMISER,
        history=_history(len(records)),
        other_members=OTHERS,
    )
    lines = set(range(2, 2 + len(records) * 3))
    _check_outcome(result, lines)
    if not any("\n" in v or "\r" in v for rec in records for v in rec.values()):
        errors = {i["line"] for i in result.issues.to_pylist() if i["severity"] == "error"}
        accounts = [r["account_id"] for r in records]
        for i in range(len(records)):
            if i not in touched and accounts.count(accounts[i]) == 1:
                assert i + 2 not in errors, (
                    i,
                    [x for x in result.issues.to_pylist() if x["line"] == i + 2],
                )


@FAST
@given(
    st.binary(max_size=3000),
    st.one_of(st.none(), st.binary(max_size=300)),
    st.one_of(st.just(FILE_NAME), st.just(FILE_NAME + ".gz"), st.text(max_size=40)),
)
def test_random_bytes_never_raise(data, control, name):
    result = validate_submission(name, data, control, uploader=MEMBER, pseudonymiser=PSEUDONYMISER)
    _check_outcome(result, set(range(0, data.count(b"\n") + data.count(b"\r") + 3)))
    assert result.status in ("rejected", "accepted", "partially_accepted")


CSV_CHARS = st.text(alphabet=st.sampled_from(list(',"\r\n Aa0é张\t')), max_size=400)


@FAST
@given(CSV_CHARS)
def test_fast_and_exact_readers_agree(body):
    data = ("record_type,account_id,dpd\n" + body).encode()
    parsed = read_records(data)
    columns, lines, malformed = _read_exact(data, ["record_type", "account_id", "dpd"])
    assert parsed.lines.tolist() == lines.tolist()
    assert [(m.line, m.fields, m.code) for m in parsed.malformed] == [
        (m.line, m.fields, m.code) for m in malformed
    ]
    for name, values in columns.items():
        assert parsed.columns[name].to_pylist() == values.to_pylist()


def _ric_numbers(draw: st.DrawFn, n: int) -> list[str]:
    codes = listed_codes()
    out = []
    for _ in range(n):
        region = draw(st.one_of(st.sampled_from(codes.tolist()), st.integers(100000, 999999)))
        year = draw(st.integers(1880, 2030))
        month = draw(st.integers(0, 13))
        day = draw(st.integers(0, 32))
        body = f"{region:06d}{year:04d}{month:02d}{day:02d}{draw(st.integers(0, 999)):03d}"
        check = (
            ric.calc_check_digit(body + "0")
            if draw(st.booleans())
            else draw(st.sampled_from("0123456789X"))
        )
        out.append(body + check)
    return out


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_identity_fast_path_matches_check_id(data):
    today = dt.date(2025, 1, 31)
    numbers = _ric_numbers(data.draw, 50) + data.draw(st.lists(st.text(max_size=20), max_size=10))
    types = ["RIC"] * 50 + data.draw(
        st.lists(
            st.sampled_from(["RIC", "PASSPORT", "HKMO", "TW", "FOREIGN_PR", "X"]),
            min_size=len(numbers) - 50,
            max_size=len(numbers) - 50,
        )
    )
    problems, normalised = check_ids(pa.array(types), pa.array(numbers), today)
    for t, number, problem, norm in zip(
        types, numbers, problems.tolist(), normalised.to_pylist(), strict=True
    ):
        if not number:
            assert problem == 0
            continue
        try:
            expected = check_id(t, number, today=today)
        except Exception:
            assert problem != 0
            continue
        assert PROBLEMS[problem] == expected, (t, number)
        assert (norm != "") == (expected is None)
    assert isinstance(problems, np.ndarray)


NAMES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=4),
    st.text(
        alphabet=st.sampled_from(list("张三李四 ·•・.ＡａAbßǄﬁ\u3000\u00a0\u2028\t兀豈Σς")),
        max_size=8,
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=10),
)
MOBILES = st.one_of(
    st.from_regex(r"1[0-9]{10}", fullmatch=True),
    st.sampled_from(["", "+8613800138000", "138-0013-8000", "23800138000", "1380013800"]),
)


@FAST
@given(
    st.lists(
        st.tuples(
            NAMES,
            MOBILES,
            st.sampled_from(["RIC", "PASSPORT", "HKMO", "X"]),
            st.sampled_from([RIC, RIC_2, RIC.lower(), RIC[:17], "E1234567", "e1234-567", "", "张"]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_column_pseudonyms_match_the_pseudonymiser(people):
    """The validator builds the HMAC messages column-wise (a CJK name is its own normal form, a
    valid mobile or identity number already is): every key and hash must be the one
    ``Pseudonymiser`` computes record by record, and empty exactly where the value is absent or
    invalid."""
    records = [
        record(account_id=f"L-{i:05d}", name=name, mobile=mobile, id_type=id_type, id_number=number)
        for i, (name, mobile, id_type, number) in enumerate(people)
    ]
    data = csv_bytes(records, LOANS_V1_COLUMNS)
    result = validate_submission(
        FILE_NAME,
        data,
        control_for(FILE_NAME, data, len(records)),
        uploader=MEMBER,
        pseudonymiser=PSEUDONYMISER,
    )
    by_line = {row["line"]: row for row in result.rows.to_pylist()}
    today = dt.date(2025, 1, 31)
    for i, (name, mobile, id_type, number) in enumerate(people):
        row = by_line.get(i + 2)
        if row is None:  # a value with a line break made the row unreadable: nothing to compare
            continue
        try:
            valid_id = bool(number) and check_id(id_type, number, today=today) is None
        except Exception:
            valid_id = False
        expected_key = PSEUDONYMISER.borrower_key(id_type, number) if valid_id else ""
        expected_name = PSEUDONYMISER.name_hash(name) if name.strip() else ""
        valid_mobile = re.fullmatch(r"1[0-9]{10}", mobile) is not None
        expected_mobile = PSEUDONYMISER.mobile_hash(mobile) if valid_mobile else ""
        assert row["borrower_key"] == expected_key, (id_type, i)
        assert row["name_hash"] == expected_name, (name, i)
        assert row["mobile_hash"] == expected_mobile, (mobile, i)


def test_plain_cjk_names_are_their_own_normal_form():
    """The validator's fast path for names (CJK Unified Ideographs only) relies on this."""
    for code in range(0x4E00, 0xA000):
        assert normalise_name(chr(code)) == chr(code), hex(code)
