"""Identity-number checks beyond :func:`exchange.pseudonym.check_id` (the precise, one-number
rule): the column-wise check of a whole file or batch (:func:`check_ids`, ingest and batch
lookups) and the one-number fast path of single lookups (:func:`quick_valid`). Both answer
exactly as ``check_id`` does, and all three read one region table (:mod:`exchange.regions`).

Column-wise identity-number checks with the answers of :func:`exchange.pseudonym.check_id`.

A fast path decides most rows with numpy: a RIC in canonical form (18 ASCII characters, 17
digits and a digit or ``X``) is valid when its ISO 7064 MOD 11-2 check digit, its birth date
(a real date, holder aged 16–120 on the file date) and its region (a code GB/T 2260 has ever
listed: :mod:`exchange.regions`) all hold. Other documents are valid when
they are 5–20 of ``A–Z0–9``. Only rows the fast path does not pass go to ``check_id`` one by one,
for the precise problem.

Invariants:

* A row the fast path passes is one ``check_id`` passes too (``tests/test_validate_property.py``
  compares them on random numbers); the fast path never passes more.
* ``check_id`` raising (it cannot know every malformed region entry) never escapes: the fast
  path's own reason is used instead.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from stdnum.cn import ric as _ric

from exchange import regions
from exchange.pseudonym import ID_TYPES, IdProblem, check_id, normalise_id, years_before

#: Problem codes in the array :func:`check_ids` returns (0: valid or not checked).
PROBLEMS: tuple[IdProblem | None, ...] = (
    None,
    IdProblem.ID_TYPE,
    IdProblem.LENGTH,
    IdProblem.FORMAT,
    IdProblem.CHECKSUM,
    IdProblem.BIRTH_DATE,
    IdProblem.REGION,
)
_CODE = {p: i for i, p in enumerate(PROBLEMS)}
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_OTHER_ID = r"^[A-Z0-9]{5,20}$"


def fixed_width(values: pa.Array, width: int) -> np.ndarray:
    """The bytes of string values that are all exactly ``width`` bytes long, as an n×width matrix."""
    n = len(values)
    if n == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = np.frombuffer(
        values.buffers()[1], dtype=np.int32, count=n + 1, offset=values.offset * 4
    )
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[0] + width * n].reshape(n, width)


def digits(matrix: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The number written in columns start..stop of a digit matrix (caller checked the digits).

    Column by column in int32 (at most 9 digits), so no n×k temporary is ever allocated."""
    out = matrix[:, start].astype(np.int32)
    out -= 48
    for col in range(start + 1, stop):
        out *= 10
        out += matrix[:, col]
        out -= 48
    return out


def byte_class(chars: str) -> np.ndarray:
    """A lookup table: which of the 256 byte values are among ``chars`` (ASCII)."""
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(chars.encode("ascii"), dtype=np.uint8)] = True
    return table


def only_bytes(values: pa.Array, table: np.ndarray) -> bool:
    """Whether every byte of every string value is in ``table``."""
    n = len(values)
    if n == 0 or values.buffers()[2] is None:
        return True
    offsets = np.frombuffer(
        values.buffers()[1], dtype=np.int32, count=n + 1, offset=values.offset * 4
    )
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return bool(table[data].all())


def edge_bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """First and last byte of each string value (0 for empty values)."""
    n = len(values)
    if n == 0 or values.buffers()[2] is None:
        return np.zeros(n, np.uint8), np.zeros(n, np.uint8)
    offsets = np.frombuffer(
        values.buffers()[1], dtype=np.int32, count=n + 1, offset=values.offset * 4
    )
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    if len(data) == 0:
        return np.zeros(n, np.uint8), np.zeros(n, np.uint8)
    starts, stops = offsets[:-1], offsets[1:]
    empty = stops == starts
    first = np.where(empty, 0, data[np.minimum(starts, len(data) - 1)])
    last = np.where(empty, 0, data[np.maximum(stops - 1, 0)])
    return first, last


def _ric_fast(numbers: pa.Array, today: dt.date) -> np.ndarray:
    """Problem codes of upper-cased RIC candidates by numpy alone (a first guess for failures)."""
    n = len(numbers)
    problem = np.full(n, _CODE[IdProblem.LENGTH], dtype=np.uint8)
    right_length = np.asarray(pc.equal(pc.binary_length(numbers), 18).fill_null(False))
    if not right_length.any():
        return problem
    filled = pc.if_else(pa.array(right_length), numbers, "000000000000000000")
    m = fixed_width(filled.combine_chunks() if isinstance(filled, pa.ChunkedArray) else filled, 18)
    is_digit = (m >= 48) & (m <= 57)
    formatted = right_length & is_digit[:, :17].all(axis=1) & (is_digit[:, 17] | (m[:, 17] == 88))
    total = np.zeros(n, dtype=np.int32)
    for col in range(17):
        total += (m[:, col].astype(np.int32) - 48) * int(_WEIGHTS[col])
    check = (12 - total % 11) % 11
    expected = np.where(check == 10, 88, check + 48)
    checksum_ok = formatted & (m[:, 17] == expected)
    year = digits(m, 6, 10)
    month = digits(m, 10, 12)
    day = digits(m, 12, 14)
    month_ok = (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    date_ok = month_ok & (day >= 1) & (day <= dim)
    try:
        limit = today.replace(year=today.year - 16)
    except ValueError:  # 29 February in a non-leap year
        limit = today.replace(year=today.year - 16, day=28)
    born = year * 10000 + month * 100 + day
    age_ok = (born <= limit.year * 10000 + limit.month * 100 + limit.day) & (
        year >= today.year - 120
    )
    birth_ok = checksum_ok & date_ok & age_ok
    region_ok = regions.listed_mask()[np.clip(digits(m, 0, 6), 0, 999_999)]
    problem[right_length] = _CODE[IdProblem.FORMAT]
    problem[formatted] = _CODE[IdProblem.CHECKSUM]
    problem[checksum_ok] = _CODE[IdProblem.BIRTH_DATE]
    problem[birth_ok] = _CODE[IdProblem.REGION]
    problem[birth_ok & region_ok] = 0
    return problem


def check_ids(
    id_types: pa.Array, id_numbers: pa.Array, today: dt.date
) -> tuple[np.ndarray, pa.Array]:
    """Problem code per row (see :data:`PROBLEMS`) and the normalised number of valid rows.

    Rows whose id_type is not a known type get ``ID_TYPE``; rows with an empty number get 0 (the
    required rule reports them). The normalised number is ``""`` where the row is not valid.
    """
    n = len(id_numbers)
    problem = np.zeros(n, dtype=np.uint8)
    empty = np.asarray(pc.equal(id_numbers, ""))
    upper = pc.ascii_upper(id_numbers)
    is_ric = np.asarray(pc.equal(id_types, "RIC")) & ~empty
    known = np.asarray(pc.is_in(id_types, value_set=pa.array(ID_TYPES)))
    problem[~known & ~empty] = _CODE[IdProblem.ID_TYPE]
    ric_rows = np.flatnonzero(is_ric)
    if ric_rows.size:
        ric = pc.take(upper, pa.array(ric_rows))
        problem[ric_rows] = _ric_fast(ric, today)
    other = known & ~is_ric & ~empty
    other_rows = np.flatnonzero(other)
    if other_rows.size:
        ok = np.asarray(pc.match_substring_regex(pc.take(upper, pa.array(other_rows)), _OTHER_ID))
        problem[other_rows[~ok]] = _CODE[IdProblem.FORMAT]
    fast_valid = (is_ric | other) & (problem == 0)
    fixed_rows: list[int] = []
    fixed_values: list[str] = []
    suspects = np.flatnonzero(known & ~empty & (problem != 0))
    if suspects.size:
        types = pc.take(id_types, pa.array(suspects)).to_pylist()
        numbers = pc.take(id_numbers, pa.array(suspects)).to_pylist()
        for row, id_type, number in zip(suspects.tolist(), types, numbers, strict=True):
            try:
                precise = check_id(id_type, number, today=today)
            except Exception:
                continue
            problem[row] = _CODE[precise]
            if precise is None:
                fixed_rows.append(row)
                fixed_values.append(normalise_id(id_type, number))
    normalised = pc.if_else(pa.array(fast_valid), upper, "")
    if fixed_rows:
        mask = np.zeros(n, dtype=bool)
        mask[fixed_rows] = True
        normalised = pc.replace_with_mask(
            normalised, pa.array(mask), pa.array(fixed_values, pa.string())
        )
    return problem, normalised


# -- one number at a time (the API's single lookups) ------------------------------------------
#
# quick_valid answers True only for a number check_id accepts: a canonical RIC (18 ASCII
# characters) whose check digit, birth date and region hold. Anything else — other documents, a
# RIC in another form or failing a check — answers False, and the caller asks check_id for the
# precise problem, so refusals and their codes are exactly check_id's.


def quick_valid(id_type: str, id_number: str) -> bool:
    if id_type != "RIC" or len(id_number) != 18 or not id_number.isascii():
        return False
    n = id_number.upper()
    if not n[:17].isdigit() or n[17] != _ric.calc_check_digit(n):
        return False
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
        today = dt.date.today()
        limit = years_before(today, 16)
    except ValueError:
        return False
    if born > limit or born.year < today.year - 120:
        return False
    return regions.is_listed(int(n[:6]))


def warm() -> None:
    """Build the region table once (≈ 0.1 s) at start rather than in the first request."""
    regions.is_listed(110105)
