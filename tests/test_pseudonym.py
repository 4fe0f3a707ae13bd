"""Pseudonymisation: DOMAIN.md §2 borrower_key, name/mobile hashes, RIC checks and masks."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from exchange.pseudonym import (
    IdProblem,
    Pseudonymiser,
    check_id,
    mask_id,
    mask_mobile,
    mask_name,
    normalise_id,
    ric_facts,
)

PEPPER = bytes(range(32))
OTHER_PEPPER = bytes(range(1, 33))
TODAY = dt.date(2026, 11, 23)


def make_ric(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


VALID = make_ric("11010519900307123")  # Beijing Xicheng, born 1990-03-07, male


def test_borrower_key_is_the_documented_hmac():
    expected = hmac.new(PEPPER, f"RIC:{VALID}".encode(), hashlib.sha256).hexdigest()
    assert Pseudonymiser(PEPPER).borrower_key("RIC", VALID) == expected


def test_same_person_same_key_across_spellings():
    p = Pseudonymiser(PEPPER)
    lower_x = make_ric("11010519900307001")
    assert p.borrower_key("RIC", f" {VALID} ") == p.borrower_key("RIC", VALID)
    assert p.borrower_key("RIC", lower_x.lower()) == p.borrower_key("RIC", lower_x)
    assert p.name_hash("张 三") == p.name_hash("张三") == p.name_hash("张三 ")
    assert p.name_hash("ZHANG San") == p.name_hash("ＺＨＡＮＧ ｓａｎ")
    assert p.name_hash("阿卜杜·热合曼") == p.name_hash("阿卜杜热合曼")
    assert p.mobile_hash("+86 138 0013 8000") == p.mobile_hash("13800138000")
    assert p.mobile_hash("") == ""


def test_different_person_or_pepper_or_type_gives_different_keys():
    p, q = Pseudonymiser(PEPPER), Pseudonymiser(OTHER_PEPPER)
    other = make_ric("11010519900307124")
    assert p.borrower_key("RIC", VALID) != p.borrower_key("RIC", other)
    assert p.borrower_key("RIC", VALID) != q.borrower_key("RIC", VALID)
    assert p.borrower_key("PASSPORT", "E12345678") != p.borrower_key("HKMO", "E12345678")
    # a name and an id with the same text never collide: different prefixes
    assert p.name_hash(VALID) != p.borrower_key("RIC", VALID)


def test_column_form_matches_single_form():
    p = Pseudonymiser(PEPPER)
    types = ["RIC", "PASSPORT", "RIC"]
    numbers = [VALID, "e1234-5678", VALID.lower()]
    assert p.borrower_keys(types, numbers) == [
        p.borrower_key(t, n) for t, n in zip(types, numbers, strict=True)
    ]


def test_pepper_is_never_shown():
    assert "00010203" not in repr(Pseudonymiser(PEPPER))
    with pytest.raises(ValueError):
        Pseudonymiser(b"short")


@pytest.mark.parametrize(
    ("id_type", "number", "problem"),
    [
        ("RIC", VALID, None),
        ("DRIVER", VALID, IdProblem.ID_TYPE),
        ("RIC", VALID[:-1], IdProblem.LENGTH),
        ("RIC", "11010519900307A23" + "5", IdProblem.FORMAT),
        ("RIC", VALID[:-1] + ("0" if VALID[-1] != "0" else "1"), IdProblem.CHECKSUM),
        ("RIC", make_ric("11010519901307123"), IdProblem.BIRTH_DATE),  # month 13
        ("RIC", make_ric("11010520200307123"), IdProblem.BIRTH_DATE),  # a six-year-old
        ("RIC", make_ric("11010518800307123"), IdProblem.BIRTH_DATE),  # 146 years old
        ("RIC", make_ric("99010519900307123"), IdProblem.REGION),
        ("RIC", make_ric("11999919900307123"), IdProblem.REGION),  # known province, no county
        ("PASSPORT", "E12345678", None),
        ("PASSPORT", "E1", IdProblem.LENGTH),
        ("HKMO", "H1234567$", IdProblem.FORMAT),
    ],
)
def test_check_id(id_type, number, problem):
    assert check_id(id_type, number, today=TODAY) == problem


def test_check_id_on_29_february():
    # 18 years before 29 February 2028 is 2010, a common year: the limit is 28 February 2010
    leap_day = dt.date(2028, 2, 29)
    assert check_id("RIC", make_ric("11010520100228123"), today=leap_day, min_age=18) is None
    assert check_id("RIC", make_ric("11010520100301123"), today=leap_day, min_age=18) == (
        IdProblem.BIRTH_DATE
    )


def test_ric_facts_and_normalisation():
    f = ric_facts(VALID)
    assert (f.province, f.birth_year, f.sex) == ("11", 1990, "M")
    assert normalise_id("RIC", " 11010519900307123x ") == "11010519900307123X"
    assert normalise_id("PASSPORT", "e-123 456") == "E123456"


def test_masks_never_show_a_whole_identifier():
    m = mask_id("RIC", VALID)
    assert len(m) == 18 and m.startswith("11") and m.endswith(VALID[-2:])
    assert VALID[2:16] not in m
    assert mask_id("PASSPORT", "E12345678") == "*******78"
    assert mask_id("RIC", "123") == "***"
    assert mask_name("张三丰") == "张**"
    assert mask_mobile("13800138000") == "138******00"


@settings(max_examples=300, deadline=None)
@given(
    ids=st.lists(
        st.tuples(
            st.sampled_from(["RIC", "PASSPORT", "HK_MACAO", "OTHER"]),
            st.text("0123456789XABE", min_size=0, max_size=20),
        ),
        max_size=20,
    ),
    names=st.lists(st.text(min_size=0, max_size=6), max_size=20),
)
def test_column_wise_masks_equal_the_masks(ids, names):
    """The loader's later checks print identities masked column-wise (ingest.issues.mask_ids /
    mask_names, done in the validation child); they must print exactly what mask_id/mask_name
    print for the same (normalised) value."""
    import pyarrow as pa

    from ingest.issues import mask_ids, mask_names

    types = pa.array([t for t, _ in ids], pa.string())
    numbers = [normalise_id(t, n) if t != "OTHER" else n.strip() for t, n in ids]
    assert mask_ids(types, pa.array(numbers, pa.string())).to_pylist() == [
        mask_id(t, n) for (t, _), n in zip(ids, numbers, strict=True)
    ]
    assert mask_names(pa.array(names, pa.string())).to_pylist() == [mask_name(n) for n in names]


@settings(max_examples=2000)
@given(
    region=st.sampled_from(["110105", "110199", "990105", "000000", "440300", "320102", "632726"]),
    born=st.dates(dt.date(1880, 1, 1), dt.date.today()),
    serial=st.integers(0, 999),
    corrupt=st.booleans(),
)
def test_the_apis_quick_check_never_passes_what_check_id_refuses(region, born, serial, corrupt):
    from exchange.identity import quick_valid

    number = make_ric(f"{region}{born:%Y%m%d}{serial:03d}")
    if corrupt:
        number = number[:-1] + ("0" if number[-1] != "0" else "1")
    if quick_valid("RIC", number):
        assert check_id("RIC", number) is None
    if check_id("RIC", number) is None:
        assert quick_valid("RIC", number)  # and it admits every valid number by itself
