"""Data-quality rows and score (ingest.dq) on files validated by the real validator.

No warehouse here: the reference data of the history and across-member rules is given as tables,
as the loader would fetch it. ``test_loader.py`` checks the rows in the warehouse and
``jdx dq show``.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from loanfiles import FILE_NAME, MEMBER, PSEUDONYMISER, RIC, control_for, csv_bytes, record

from ingest.dq import (
    FILE_FIELD,
    WEIGHTS,
    DqRow,
    Timing,
    dimension_of,
    file_rows,
    file_score,
    rates,
    score,
)
from ingest.history import HISTORY_SCHEMA, apply_reference
from ingest.validate import Validation, validate_submission

ON_TIME = Timing(
    received=dt.date(2025, 2, 1),
    as_of=dt.date(2025, 1, 31),
    previous_as_of=dt.date(2024, 12, 31),
    timely_days=2,
    max_gap_days=31,
)


def validate(records: list[dict[str, str]], **control: object) -> Validation:
    data = csv_bytes(records)
    return validate_submission(
        FILE_NAME,
        data,
        control_for(FILE_NAME, data, len(records), **control),
        uploader=MEMBER,
        pseudonymiser=PSEUDONYMISER,
    )


def table(rows: list[DqRow]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(r.dimension, r.field): (r.passed, r.checked) for r in rows}


def test_codes_map_to_dimensions() -> None:
    assert [dimension_of(c) for c in ("V203", "X314", "H505", "F111")] == ["completeness"] * 4
    assert [dimension_of(c) for c in ("V213", "X301", "W401", "F106")] == ["validity"] * 4
    assert [dimension_of(c) for c in ("H501", "H502", "H503", "H506")] == ["consistency"] * 4
    assert dimension_of("M601") == "identity"
    assert dimension_of("H504") is None and dimension_of("F115") is None  # not a quality fault
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_a_record_fails_a_dimension_once_and_fields_break_it_down() -> None:
    v = validate(
        [
            record(account_id="L-1"),
            record(account_id="L-2", consent_ref="", product=""),  # two completeness faults
            record(account_id="L-3", id_number=RIC[:-1] + "0"),  # validity: check digit
            record(account_id="L-4", guarantee="PLEDGE", opened_date="2025-02-30"),  # two
        ]
    )
    t = table(file_rows(v, ON_TIME))
    assert t[("completeness", "")] == (3, 4)
    assert t[("completeness", "consent_ref")] == (3, 4) and t[("completeness", "product")] == (3, 4)
    assert t[("validity", "")] == (2, 4)
    assert t[("validity", "id_number")] == (3, 4) and t[("validity", "guarantee")] == (3, 4)
    assert t[("consistency", "")] == (4, 4) and t[("identity", "")] == (4, 4)
    assert t[("timeliness", "")] == (2, 2)
    assert ("consistency", "opened_date") not in t  # fields without failures get no row
    s, r = file_score(file_rows(v, ON_TIME))
    assert r == {
        "completeness": 0.75,
        "validity": 0.5,
        "timeliness": 1.0,
        "consistency": 1.0,
        "identity": 1.0,
    }
    assert s == pytest.approx(100 * (0.25 * 0.75 + 0.35 * 0.5 + 0.2 + 0.1 + 0.1), abs=0.01)


def test_a_file_level_error_fails_validity_for_every_record() -> None:
    v = validate([record(account_id="L-1"), record(account_id="L-2")], sha256="0" * 64)
    assert v.file_rejected
    t = table(file_rows(v, ON_TIME))
    assert t[("validity", "")] == (0, 2) and t[("validity", FILE_FIELD)] == (0, 1)
    assert t[("completeness", "")] == (2, 2)


def test_a_missing_required_column_fails_completeness_for_every_record() -> None:
    columns = [c for c in record() if c != "consent_ref"]
    data = csv_bytes([record(account_id="L-1")], columns)
    v = validate_submission(
        FILE_NAME,
        data,
        control_for(FILE_NAME, data, 1),
        uploader=MEMBER,
        pseudonymiser=PSEUDONYMISER,
    )
    t = table(file_rows(v, ON_TIME))
    assert t[("completeness", "")] == (0, 1) and t[("completeness", FILE_FIELD)] == (0, 1)


def test_history_and_identity_dimensions_and_corrections_do_not_count() -> None:
    v = validate(
        [
            record(
                account_id="L-1",
                dpd="90",
                overdue_amount="100.00",
                status="OVERDUE",
                negative_notice_date="2025-01-01",
            ),
            record(account_id="L-2", as_of_date="2025-01-10"),  # a correction (H504)
            record(account_id="L-3"),
        ]
    )
    history = pa.table(
        {
            "account_id": ["L-1", "L-2", "L-3"],
            "as_of_date": [dt.date(2025, 1, 20)] * 3,
            "dpd": [0, 0, 0],
            "borrower_key": [v.rows.column("borrower_key")[0].as_py()] * 3,
            "opened_date": [dt.date(2024, 6, 15)] * 3,
            "ever_negative": [False] * 3,
        },
        schema=HISTORY_SCHEMA,
    )
    others = pa.table(
        {"borrower_key": [v.rows.column("borrower_key")[0].as_py()], "name_hash": ["x"]}
    )
    v = apply_reference(v, history=history, other_members=others)
    assert {"H501", "H504", "M601"} <= set(v.counts)
    t = table(file_rows(v, ON_TIME))
    assert t[("consistency", "")] == (2, 3) and t[("consistency", "dpd")] == (2, 3)
    assert t[("identity", "")] == (0, 3)  # every record names the same borrower
    assert ("consistency", "as_of_date") not in t  # H504 is not a fault


@pytest.mark.parametrize(
    ("received", "previous", "arrival", "continuity"),
    [
        (dt.date(2025, 2, 2), dt.date(2024, 12, 31), 1, 1),  # exactly timely_days late: on time
        (dt.date(2025, 2, 3), dt.date(2024, 12, 31), 0, 1),  # one day more: late
        (dt.date(2025, 2, 1), dt.date(2024, 12, 30), 1, 0),  # 32 days since the last report
        (dt.date(2025, 2, 1), None, 1, 1),  # the member's first file
        (dt.date(2025, 2, 1), dt.date(2025, 3, 31), 1, 1),  # an older file (a correction)
    ],
)
def test_timeliness_arrival_and_continuity(
    received: dt.date, previous: dt.date | None, arrival: int, continuity: int
) -> None:
    timing = Timing(received, dt.date(2025, 1, 31), previous, timely_days=2, max_gap_days=31)
    t = table(file_rows(validate([record()]), timing))
    assert t[("timeliness", "arrival")] == (arrival, 1)
    assert t[("timeliness", "continuity")] == (continuity, 1)
    assert t[("timeliness", "")] == (arrival + continuity, 2)


def test_an_empty_file_is_scored_on_what_can_be_judged() -> None:
    empty = validate_submission(
        FILE_NAME, b"", control_for(FILE_NAME, b"", 0), uploader=MEMBER, pseudonymiser=PSEUDONYMISER
    )
    t = table(file_rows(empty, ON_TIME))
    assert t[("validity", "")] == (0, 1) and ("completeness", "") not in t
    header_only = validate([])
    s, r = file_score(file_rows(header_only, ON_TIME))
    assert r == {"validity": 1.0, "timeliness": 1.0} and s == 100.0


def test_score_weights_and_aggregation_over_files() -> None:
    assert score({}) is None
    assert score({"validity": 0.5}) == 50.0  # only what was checked is weighed
    assert score({"validity": 1.0, "timeliness": 0.0}) == pytest.approx(100 * 0.35 / 0.45, abs=0.01)
    # a day of two files: passed and checked are summed first, so the big file weighs more
    day = rates([("validity", 90, 100), ("validity", 0, 10)])
    assert day == {"validity": pytest.approx(90 / 110)}
