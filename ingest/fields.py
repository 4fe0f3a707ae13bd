"""Field rules (``V2xx``): each column's text is checked and typed, column-wise.

Invariants:

* Every fault of every value is reported: an empty required value (V203), a malformed or
  impossible date (V204/V205), a number that is not one, has too many decimals or is out of
  range (V206–V210; a value can get V207 and V210 together), a code outside its list (V209), and
  the column-specific rules V211–V219.
* A typed value is null unless its text is present and valid, so later rules (cross-field,
  history) only ever compare valid values: a fault is reported once, by the rule it breaks.
* The common case costs one regular expression (or a fixed-width numpy check) per column; only
  values that fail it are looked at one by one, to say precisely what is wrong with them.
"""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exchange.identity import (
    PROBLEMS,
    byte_class,
    check_ids,
    digits,
    edge_bytes,
    fixed_width,
    only_bytes,
)
from exchange.pseudonym import IdProblem
from ingest.issues import IssueSink
from ingest.spec import COLUMNS, MAX_DAY, MIN_DAY, PROVINCES, Column, Kind, Required

DECIMAL = pa.decimal128(18, 2)
_DECIMAL_COMMON = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
_DECIMAL_SHAPE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INTEGER_SHAPE = re.compile(r"-?[0-9]+")
_ACCOUNT_ID = r"^[A-Za-z0-9_-]{1,64}$"
_MOBILE = r"^1[0-9]{10}$"
_ID_CODES = {
    IdProblem.LENGTH: "V211",
    IdProblem.FORMAT: "V212",
    IdProblem.CHECKSUM: "V213",
    IdProblem.BIRTH_DATE: "V214",
    IdProblem.REGION: "V215",
}
_ID_ALLOWED = {
    "V211": ("18 characters", "5–20 characters"),
    "V212": ("17 digits then a digit or X", "letters A–Z and digits"),
}
_DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]
_FIRST_DAY = pa.scalar(MIN_DAY, pa.date32())
_LAST_DAY = pa.scalar(MAX_DAY, pa.date32())
_FIRST_STAMP = (MIN_DAY - dt.date(1970, 1, 1)).days
_LAST_STAMP = (MAX_DAY - dt.date(1970, 1, 1)).days
_PARALLEL_FROM = 20_000  # rows; below this, threads cost more than they save
_DIGITS = byte_class("0123456789")
_DIGITS_DOT = byte_class("0123456789.")
_ACCOUNT_BYTES = byte_class("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def flag(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean pyarrow result as a numpy mask, null counting as False."""
    filled = pc.fill_null(values, False)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    return np.asarray(filled, dtype=bool)


@dataclass
class Typed:
    """Typed columns (null where empty or invalid) and which values are present and valid."""

    values: dict[str, pa.Array]
    ok: dict[str, np.ndarray]
    empty: dict[str, np.ndarray]
    id_normalised: pa.Array  # "" unless the identity number is valid


def parse_dates(text: pa.Array, present: np.ndarray) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """(well formed YYYY-MM-DD, real date in range, date32 values) of present string values."""
    filled = pc.if_else(pa.array(present), text, "1970-01-01")
    try:
        days = pc.cast(filled, pa.date32())  # strict ISO: fails as a whole on any other text
        formed = flag(pc.equal(pc.binary_length(filled), 10))
        if not formed.all():
            raise ValueError("not all YYYY-MM-DD")
        in_range = flag(pc.and_(pc.greater_equal(days, _FIRST_DAY), pc.less_equal(days, _LAST_DAY)))
        real = present & in_range
        return present, real, pc.if_else(pa.array(real), days, pa.scalar(None, pa.date32()))
    except (pa.ArrowInvalid, ValueError):
        pass
    right_length = flag(pc.equal(pc.binary_length(filled), 10))
    m = fixed_width(pc.if_else(pa.array(right_length), filled, "1970-01-01"), 10)
    is_digit = (m[:, _DATE_DIGITS] >= 48) & (m[:, _DATE_DIGITS] <= 57)
    formed = present & right_length & is_digit.all(axis=1) & (m[:, 4] == 45) & (m[:, 7] == 45)
    year, month, day = digits(m, 0, 4), digits(m, 5, 7), digits(m, 8, 10)
    month_ok = (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    real = formed & month_ok & (day >= 1) & (day <= dim) & (year >= 1) & (year <= 9999)
    months = np.where(real, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    stamp = (
        (months.astype("datetime64[D]") + np.where(real, day - 1, 0))
        .astype(np.int64)
        .astype(np.int32)
    )
    real &= (stamp >= _FIRST_STAMP) & (stamp <= _LAST_STAMP)
    return formed, real, pa.array(stamp, pa.date32(), mask=~real)


def _number_problems(text: str, column: Column) -> tuple[list[str], Decimal | None]:
    """Codes a number breaks, and its value when it breaks none (the uncommon cases)."""
    shape = _DECIMAL_SHAPE if column.kind is Kind.DECIMAL else _INTEGER_SHAPE
    if not shape.fullmatch(text):
        return ["V206" if column.kind is Kind.DECIMAL else "V208"], None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return ["V206" if column.kind is Kind.DECIMAL else "V208"], None
    codes = []
    if column.kind is Kind.DECIMAL and "." in text and len(text.split(".")[1]) > 2:
        codes.append("V207")
    low, high = column.minimum, column.maximum
    if (low is not None and (value < low or (column.minimum_exclusive and value == low))) or (
        high is not None and value > high
    ):
        codes.append("V210")
    return codes, (None if codes else value)


def parse_number(
    text: pa.Array, column: Column, present: np.ndarray, sink: IssueSink
) -> tuple[pa.Array, np.ndarray]:
    """Typed values (decimal128(18, 2) or uint16) and the valid mask; V206–V210 into ``sink``."""
    decimal = column.kind is Kind.DECIMAL
    target = DECIMAL if decimal else pa.int64()
    values = None
    if only_bytes(text, _DIGITS_DOT if decimal else _DIGITS):
        try:  # the common case: plain digits that cast; the cast refuses overflow and > 2 dp
            filled = text if present.all() else pc.if_else(pa.array(present), text, "0")
            values = pc.cast(filled, target)
            good = present
            if decimal:
                first, last = edge_bytes(text)
                dangling = present & ((first == 46) | (last == 46))  # ".5", "5."
                # ... but not "0.000" or "1.500", which it casts exactly: V207 all the same, as
                # the slow path finds (so a value's verdict never depends on the other rows)
                dot = np.asarray(pc.find_substring(text, ".").fill_null(-1))
                places = np.where(dot >= 0, np.asarray(pc.binary_length(text)) - dot - 1, 0)
                wrong = dangling | (present & (places > 2))
                good = present & ~wrong if wrong.any() else present
        except pa.ArrowInvalid:
            values = None
    if values is None:
        width = len(str(column.maximum)) if not decimal else 16
        common = _DECIMAL_COMMON if decimal else rf"^[0-9]{{1,{width}}}$"
        good = present & flag(pc.match_substring_regex(text, common))
        values = pc.cast(pc.if_else(pa.array(good), text, "0"), target)
    low, high = column.minimum, column.maximum
    out_of_range = np.zeros(len(text), dtype=bool)
    if low is not None:
        bound = pa.scalar(Decimal(low), DECIMAL) if decimal else pa.scalar(int(low), pa.int64())
        out_of_range |= flag(
            (pc.less_equal if column.minimum_exclusive else pc.less)(values, bound)
        )
    if high is not None and not decimal:
        out_of_range |= flag(pc.greater(values, pa.scalar(int(high), pa.int64())))
    out_of_range &= good
    sink.add_rows("V210", out_of_range, field=column.name, value=text, allowed=column.allowed_text)
    ok = good & ~out_of_range
    odd = np.flatnonzero(present & ~good)
    if odd.size:
        found: dict[str, list[int]] = {}
        fixed_rows, fixed_values = [], []
        for row, raw in zip(odd.tolist(), pc.take(text, pa.array(odd)).to_pylist(), strict=True):
            codes, value = _number_problems(raw, column)
            for code in codes:
                found.setdefault(code, []).append(row)
            if value is not None:
                fixed_rows.append(row)
                fixed_values.append(value if decimal else int(value))
        for code, rows in found.items():
            sink.add_rows(
                code, np.array(rows), field=column.name, value=text, allowed=column.allowed_text
            )
        if fixed_rows:
            ok[fixed_rows] = True
            replace = np.zeros(len(text), dtype=bool)
            replace[fixed_rows] = True
            values = pc.replace_with_mask(values, pa.array(replace), pa.array(fixed_values, target))
    if not decimal:
        values = pc.cast(values, pa.uint16(), safe=False)
    return pc.if_else(pa.array(ok), values, pa.scalar(None, values.type)), ok


def check_fields(
    columns: dict[str, pa.Array],
    present_columns: frozenset[str],
    sink: IssueSink,
    today: dt.date,
    *,
    threads: int = 2,
) -> Typed:
    """Apply every field rule to every column (columns in parallel); return the typed columns."""
    upsert = ~flag(pc.equal(columns["record_type"], "D"))

    def one(column: Column) -> tuple[str, pa.Array, np.ndarray, np.ndarray]:
        return (
            column.name,
            *_check_column(
                column, columns[column.name], column.name in present_columns, upsert, sink
            ),
        )

    def identity() -> tuple[np.ndarray, pa.Array]:
        return check_ids(columns["id_type"], columns["id_number"], today)

    if threads > 1 and len(columns["record_type"]) >= _PARALLEL_FROM:
        with ThreadPoolExecutor(threads) as pool:
            ids = pool.submit(identity)
            checked = list(pool.map(one, COLUMNS.values()))
            problems, normalised = ids.result()
    else:
        problems, normalised = identity()
        checked = [one(column) for column in COLUMNS.values()]
    values = {name: v for name, v, _, _ in checked}
    ok = {name: good for name, _, good, _ in checked}
    empties = {name: empty for name, _, _, empty in checked}
    ok["id_number"] = ~empties["id_number"] & (problems == 0) & ok["id_type"]
    is_ric = flag(pc.equal(columns["id_type"], "RIC"))
    for problem, code in _ID_CODES.items():
        rows = problems == PROBLEMS.index(problem)
        extra = {}
        if code in _ID_ALLOWED and rows.any():
            ric_text, other_text = _ID_ALLOWED[code]
            extra["allowed"] = pc.if_else(pa.array(is_ric), ric_text, other_text)
        sink.add_rows(
            code,
            rows,
            field="id_number",
            value=columns["id_number"],
            id_type=columns["id_type"],
            **extra,
        )
    return Typed(values, ok, empties, normalised)


def _check_column(
    column: Column, text: pa.Array, in_header: bool, upsert: np.ndarray, sink: IssueSink
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(typed values, valid mask, empty mask) of one column; its issues into ``sink``."""
    if column.kind is Kind.TEXT:
        empty = flag(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0))
    else:
        empty = flag(pc.equal(pc.binary_length(text), 0))
    if in_header:
        if column.required is Required.ALWAYS:
            sink.add_rows("V203", empty, field=column.name, value=text, scope="")
        elif column.required is Required.UPSERT:
            sink.add_rows(
                "V203", empty & upsert, field=column.name, value=text, scope=" for record_type A"
            )
    present = ~empty
    if column.kind is Kind.DATE:
        formed, real, dates = parse_dates(text, present)
        sink.add_rows("V204", present & ~formed, field=column.name, value=text)
        sink.add_rows("V205", present & formed & ~real, field=column.name, value=text)
        return dates, present & real, empty
    if column.kind in (Kind.DECIMAL, Kind.INTEGER):
        values, ok = parse_number(text, column, present, sink)
        return values, ok, empty
    if column.kind is Kind.CODE:
        allowed = PROVINCES if column.name == "province" else column.allowed
        known = flag(pc.is_in(text, value_set=pa.array(sorted(allowed), pa.string())))
        code = "V218" if column.name == "province" else "V209"
        sink.add_rows(
            code, present & ~known, field=column.name, value=text, allowed=column.allowed_text
        )
        valid = present & known
        if column.default:
            return (
                pc.if_else(
                    pa.array(valid | empty), pc.if_else(pa.array(empty), column.default, text), None
                ),
                valid,
                empty,
            )
        return text, valid, empty
    return text, _check_text(column, text, present, sink), empty


def _check_text(column: Column, text: pa.Array, present: np.ndarray, sink: IssueSink) -> np.ndarray:
    """V216 mobile, V217 account_id, V219 length; the valid mask of a text column."""
    bad = np.zeros(len(text), dtype=bool)
    if column.name == "account_id":
        if only_bytes(text, _ACCOUNT_BYTES):
            bad = present & flag(pc.greater(pc.binary_length(text), 64))
        else:
            bad = present & ~flag(pc.match_substring_regex(text, _ACCOUNT_ID))
        sink.add_rows("V217", bad, value=text)
    elif column.name == "mobile":
        if only_bytes(text, _DIGITS):
            bad = present & ~flag(
                pc.and_(pc.equal(pc.binary_length(text), 11), pc.starts_with(text, "1"))
            )
        else:
            bad = present & ~flag(pc.match_substring_regex(text, _MOBILE))
        sink.add_rows("V216", bad, value=text)
    elif column.max_length is not None:
        bad = present & flag(pc.greater(pc.utf8_length(text), column.max_length))
        sink.add_rows("V219", bad, field=column.name, value=text, allowed=column.allowed_text)
    return present & ~bad
