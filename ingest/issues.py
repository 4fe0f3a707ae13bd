"""Column-wise construction of issues: one call adds one rule's issues for any number of records.

Invariants:

* Every issue carries a code of :data:`ingest.rules.RULES`; its severity and message template
  come from the catalogue, never from the caller.
* Values of identity columns (id_number, name, mobile) pass through the masks of
  :mod:`exchange.pseudonym` before they reach a value or a message; no raw identity value can
  leave this module. Every value is cut to :data:`MAX_VALUE` characters.
* Messages are rendered column-wise (``binary_join_element_wise`` over the template's pieces), so
  a file with a million faulty records costs no Python loop, except for masking identity values.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exchange.pseudonym import mask_id, mask_mobile, mask_name
from ingest.rules import ISSUE_SCHEMA, RULES
from ingest.spec import COLUMNS, LOANS_V1_COLUMNS

MAX_VALUE = 64
_FIELD_ORDER = {name: i for i, name in enumerate(LOANS_V1_COLUMNS)}
_FORMATTER = string.Formatter()

#: Issue table with the record index the issue belongs to (-1: the file) for internal use.
INTERNAL_SCHEMA = ISSUE_SCHEMA.insert(0, pa.field("row", pa.int64(), nullable=False))

Param: TypeAlias = pa.Array | pa.ChunkedArray | str | int


def as_text(values: Any) -> pa.Array:
    """Any array (dates, decimals, integers) as strings, nulls as empty strings."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return pc.fill_null(values, "")


def truncate(values: pa.Array) -> pa.Array:
    """Cut long values to MAX_VALUE characters, marking the cut and the full length."""
    lengths = pc.utf8_length(values)
    too_long = pc.greater(lengths, MAX_VALUE)
    if not pc.any(too_long).as_py():
        return values
    note = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(values, 0, MAX_VALUE),
        "…(",
        pc.cast(lengths, pa.string()),
        " characters)",
        "",
    )
    return pc.if_else(too_long, note, values)


#: Identity numbers and mobiles that turn up in the wrong column (a shifted row, a typo) are
#: masked wherever they appear in a value or a message, as mask_id / mask_mobile would.
_RIC_LIKE = (r"([0-9]{2})[0-9]{14}([0-9][0-9Xx])", r"\1**************\2")
_MOBILE_LIKE = (r"(^|[^0-9])(1[3-9][0-9])[0-9]{6}([0-9]{2})($|[^0-9.])", r"\1\2******\3\4")


_DIGESTS = ("F106", "F115")  # their values are SHA-256 hex digests, not identities


def scrub(values: pa.Array) -> pa.Array:
    """Mask anything shaped like a RIC or a mobile number inside free text."""
    suspect = pc.fill_null(pc.match_substring_regex(values, "[0-9]{11}"), False)
    if not pc.any(suspect).as_py():
        return values
    subset = values.filter(suspect)
    for pattern, replacement in (_RIC_LIKE, _MOBILE_LIKE, _MOBILE_LIKE):
        subset = pc.replace_substring_regex(subset, pattern, replacement)
    return pc.replace_with_mask(values, suspect, subset)


def mask_identity(field: str, values: pa.Array, id_types: pa.Array | None) -> pa.Array:
    """The printable form of identity values: the masks of exchange.pseudonym, applied once per
    distinct (id_type, value)."""
    if field == "id_number":
        types = id_types if id_types is not None else pa.array(["RIC"] * len(values), pa.string())
        keyed = pc.binary_join_element_wise(pc.fill_null(types, ""), values, "\x1f")
        encoded = pc.dictionary_encode(keyed)
        masked = [mask_id(*pair.split("\x1f", 1)) for pair in encoded.dictionary.to_pylist()]
    else:
        encoded = pc.dictionary_encode(values)
        mask: Callable[[str], str] = mask_name if field == "name" else mask_mobile
        masked = [mask(v) for v in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(masked, pa.string()), encoded.indices)


def _stars(counts: np.ndarray) -> pa.Array:
    """``"*" * k`` for each k of ``counts`` (negative counts give "")."""
    counts = np.maximum(counts, 0).astype(np.int64)
    return pc.binary_repeat(
        pa.array(["*"], pa.string()).take(np.zeros(len(counts), np.int64)), counts
    )


def mask_ids(id_types: pa.Array, numbers: pa.Array) -> pa.Array:
    """:func:`exchange.pseudonym.mask_id` of each (id_type, number) computed column-wise, for
    numbers already in ``normalise_id``'s form ("" for a null number)."""
    length = np.asarray(pc.fill_null(pc.utf8_length(numbers), 0), dtype=np.int64)
    ric = np.asarray(pc.fill_null(pc.equal(id_types, "RIC"), False), dtype=bool)
    short = length <= 4
    head = pc.if_else(pa.array(ric & ~short), pc.utf8_slice_codeunits(numbers, 0, 2), "")
    tail = pc.if_else(pa.array(~short), pc.utf8_slice_codeunits(numbers, -2), "")
    middle = _stars(np.where(short, length, length - np.where(ric, 4, 2)))
    return pc.fill_null(pc.binary_join_element_wise(head, middle, tail, ""), "")


def mask_names(names: pa.Array) -> pa.Array:
    """:func:`exchange.pseudonym.mask_name` of each name computed column-wise ("" for null)."""
    trimmed = pc.fill_null(pc.utf8_trim_whitespace(names), "")
    length = np.asarray(pc.utf8_length(trimmed), dtype=np.int64)
    return pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(trimmed, 0, 1), _stars(length - 1), ""
    )


def render(template: str, params: Mapping[str, Param], n: int) -> pa.Array:
    """Fill a message template column-wise; every placeholder must be in ``params``."""
    pieces: list[Any] = []
    for literal, name, _spec, _conv in _FORMATTER.parse(template):
        if literal:
            pieces.append(literal)
        if name is not None:
            value = params[name]
            pieces.append(
                value
                if isinstance(value, str)
                else str(value)
                if isinstance(value, int)
                else as_text(value)
            )
    if not pieces:
        return pa.array([""] * n, pa.string())
    if all(isinstance(p, str) for p in pieces):
        return pa.array(["".join(pieces)] * n, pa.string())
    return pc.binary_join_element_wise(*pieces, "")


class IssueSink:
    """Collects issues for the records of one file (row i has line ``lines[i]``)."""

    def __init__(self, lines: np.ndarray, account_ids: pa.Array, id_types: pa.Array | None) -> None:
        self.lines = lines
        self.account_ids = account_ids
        self.id_types = id_types
        self._chunks: list[pa.Table] = []

    def __len__(self) -> int:
        return sum(c.num_rows for c in self._chunks)

    def add_file(
        self,
        code: str,
        *,
        field: str = "",
        value: str = "",
        line: int = 0,
        account_id: str = "",
        params: Mapping[str, str | int] | None = None,
    ) -> None:
        """One issue about the file as a whole, its header (line 1) or an unreadable row."""
        rule = RULES[code]
        value = value.replace("\r", "\\r").replace("\n", "\\n")
        value = (
            value if len(value) <= MAX_VALUE else f"{value[:MAX_VALUE]}…({len(value)} characters)"
        )
        message = render(rule.message, {"field": field, "value": value, **(params or {})}, 1)
        if code not in _DIGESTS:
            value = scrub(pa.array([value], pa.string()))[0].as_py()
            message = scrub(message)
        self._chunks.append(
            pa.table(
                [
                    [-1],
                    [line],
                    [account_id[:MAX_VALUE]],
                    [field],
                    [code],
                    [rule.severity.value],
                    [value],
                    message,
                ],
                schema=INTERNAL_SCHEMA,
            )
        )

    def add_rows(
        self,
        code: str,
        rows: np.ndarray,
        *,
        field: str | None = None,
        value: Param | None = None,
        masked: bool = False,
        **params: Param,
    ) -> None:
        """Issues for ``rows`` (indices, or a boolean mask over all records).

        ``value`` and array ``params`` are full-length columns (one value per record); they are
        taken at ``rows``. ``value`` defaults to the ``field`` column the caller passes as such.
        ``masked``: ``value`` of an identity field is already masked (:func:`mask_ids`,
        :func:`mask_names`), as the loader's later checks have it.
        """
        rows = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        rule = RULES[code]
        field = rule.field if field is None else field
        index = pa.array(rows)
        n = rows.size

        def take(param: Param) -> Param:
            return param if isinstance(param, str | int) else pc.take(param, index)

        if value is None:
            values = pa.array([""] * n, pa.string())
        elif isinstance(value, str | int):
            values = pa.array([str(value)] * n, pa.string())
        else:
            values = as_text(pc.take(value, index))
            if field in COLUMNS and COLUMNS[field].identity and not masked:
                types = pc.take(self.id_types, index) if self.id_types is not None else None
                values = mask_identity(field, values, types)
        values = scrub(truncate(values))
        taken = {name: take(p) for name, p in params.items()}
        message = scrub(render(rule.message, {"field": field, "value": values, **taken}, n))
        self._chunks.append(
            pa.table(
                [
                    index,
                    pa.array(self.lines[rows], pa.uint32()),
                    truncate(as_text(pc.take(self.account_ids, index))),
                    pa.array([field] * n, pa.string()),
                    pa.array([code] * n, pa.string()),
                    pa.array([rule.severity.value] * n, pa.string()),
                    values,
                    message,
                ],
                schema=INTERNAL_SCHEMA,
            )
        )

    def extend(self, table: pa.Table) -> None:
        """Add issues already built (another sink's :meth:`table`)."""
        if table.num_rows:
            self._chunks.append(table.select(INTERNAL_SCHEMA.names).cast(INTERNAL_SCHEMA))

    def add_table(self, issues: pa.Table) -> None:
        """Issues found elsewhere (INTERNAL_SCHEMA, rows numbered as this sink's), e.g. by
        another process over part of the file (:mod:`ingest.parts`)."""
        if issues.num_rows:
            self._chunks.append(issues.cast(INTERNAL_SCHEMA))

    def table(self) -> pa.Table:
        """All issues so far, ordered by line, column position in the spec, then code."""
        if not self._chunks:
            return INTERNAL_SCHEMA.empty_table()
        return ordered(pa.concat_tables(self._chunks))


def ordered(issues: pa.Table) -> pa.Table:
    """INTERNAL_SCHEMA ``issues`` ordered by line, record, column position in the spec, then
    code (a stable sort: issues equal in all four keep their order)."""
    order = pa.array(
        [_FIELD_ORDER.get(f, -1) for f in issues.column("field").to_pylist()]
        if issues.num_rows < 1000
        else _field_positions(issues.column("field")),
        pa.int32(),
    )
    issues = issues.append_column("_order", order)
    issues = issues.sort_by(
        [
            ("line", "ascending"),
            ("row", "ascending"),
            ("_order", "ascending"),
            ("code", "ascending"),
        ]
    )
    return issues.drop_columns(["_order"])


def _field_positions(fields: pa.ChunkedArray) -> np.ndarray:
    encoded = pc.dictionary_encode(fields).combine_chunks()
    positions = np.array(
        [_FIELD_ORDER.get(f, -1) for f in encoded.dictionary.to_pylist()], np.int32
    )
    return (
        positions[np.asarray(encoded.indices)]
        if positions.size
        else np.zeros(len(fields), np.int32)
    )
