"""Bulk load of a simulated industry into the warehouse's ``loan_states``, pseudonymised.

For benchmarks and the demo, without the SFTP path: every monthly record becomes one row of
``loan_states`` (sql/migrations/0001_initial.sql) as the loader would write it for a clean
month-end file. Identities go through :class:`exchange.pseudonym.Pseudonymiser` once per
borrower — ``borrower_key`` (HMAC of id_type:id_number), ``name_hash``, ``mobile_hash`` (empty
when the member does not report mobiles) — and the raw id number, name and mobile never enter a
table. ``province`` and ``birth_year`` are read from the RIC (digits 1–2 and 7–10; '' and 0 for
other documents).

Arrow types follow the DDL: FixedString(64) ← string (clickhouse-connect's ``insert_arrow``
accepts both string and fixed_size_binary(64); hex keys read naturally as strings),
Decimal(18, 2) ← decimal128(18, 2), Date ← date32, Nullable(Date) ← date32 with nulls,
Array(LowCardinality(String)) ← list<string>, DateTime64(3, 'UTC') ← timestamp[ms, UTC], UIntN ←
uintN. The MATERIALIZED ``version`` is left to the server.

Load bookkeeping per simulated file (member × month): ``load_id`` ``sim<seed>-<member>-<YYYYMM>``,
``load_seq`` increasing month by month (so a later month wins in ``version``), ``line`` as in
the monthly file (header = 1), ``loaded_at`` the file's reporting day at 00:00 UTC, no flags.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exchange.pseudonym import Pseudonymiser
from ingest.rows import LOAN_STATES_SCHEMA
from simulator.industry import Industry, IndustryStream
from simulator.months import month_end
from simulator.population import Member
from simulator.records import RecordView

LOAN_STATES = "loan_states"

_TIMESTAMP = pa.timestamp("ms", tz="UTC")


class ArrowSink(Protocol):
    """What :func:`load_into` needs of a warehouse (``warehouse.Warehouse`` has it)."""

    def insert_arrow(self, table: str, data: pa.Table) -> int: ...


class _Identities:
    """Per-borrower pseudonymised columns, computed once."""

    def __init__(self, industry: Industry, pseudonymiser: Pseudonymiser) -> None:
        b = industry.borrowers
        id_types = industry.id_types.to_pylist()
        numbers = b.id_number.tolist()
        self.borrower_key = pa.array(pseudonymiser.borrower_keys(id_types, numbers), pa.string())
        self.name_hash = pa.array(pseudonymiser.name_hashes(b.name.tolist()), pa.string())
        self.mobile_hash = pa.array(pseudonymiser.mobile_hashes(b.mobile.tolist()), pa.string())
        is_ric = pa.array(b.id_type == 0)
        ids = pa.array(b.id_number, pa.string())
        self.province = pc.if_else(is_ric, pc.utf8_slice_codeunits(ids, 0, 2), "")
        # digits 7–10 of a RIC; other documents read as an all-zero RIC, i.e. year 0
        ric_or_zero = pc.if_else(is_ric, ids, "0" * 18)
        self.birth_year = pc.cast(pc.utf8_slice_codeunits(ric_or_zero, 6, 10), pa.uint16())


def bulk_tables(
    industry: Industry,
    pseudonymiser: Pseudonymiser,
    member_types: Mapping[str, str] | None = None,
    chunk_rows: int = 1_000_000,
) -> Iterator[pa.Table]:
    """``loan_states`` rows of every monthly record, in tables of at most ``chunk_rows`` rows.

    ``member_types`` maps member code → institution type as the registry holds it (default:
    the simulated members' own types).
    """
    _check(industry.members, member_types, chunk_rows)
    yield from _tables(industry, _Identities(industry, pseudonymiser), member_types, chunk_rows)


def stream_tables(
    stream: IndustryStream,
    pseudonymiser: Pseudonymiser,
    member_types: Mapping[str, str] | None = None,
    chunk_rows: int = 1_000_000,
) -> Iterator[tuple[int, pa.Table]]:
    """:func:`bulk_tables` of an industry simulated month by month (:func:`simulate_stream`).

    Yields ``(month index, table)``: the same rows, in the same order and chunks, as
    :func:`bulk_tables` of :func:`simulate` with the same arguments, while only one month of
    records is in memory. Identities are pseudonymised once, up front.
    """
    _check(stream.members, member_types, chunk_rows)
    identities: _Identities | None = None
    for t, month in enumerate(stream.months()):
        if identities is None:
            identities = _Identities(month, pseudonymiser)
        for table in _tables(month, identities, member_types, chunk_rows):
            yield t, table


def load_stream_into(
    wh: ArrowSink,
    stream: IndustryStream,
    pseudonymiser: Pseudonymiser,
    *,
    member_types: Mapping[str, str] | None = None,
    chunk_rows: int = 1_000_000,
) -> int:
    """:func:`load_into` for :func:`simulate_stream`: insert month by month; return rows."""
    total = 0
    for _t, table in stream_tables(stream, pseudonymiser, member_types, chunk_rows):
        wh.insert_arrow(LOAN_STATES, table)
        total += table.num_rows
    return total


def _check(members: list[Member], member_types: Mapping[str, str] | None, chunk_rows: int) -> None:
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1; received {chunk_rows}")
    types = dict(member_types or {m.code: str(m.type) for m in members})
    missing = [m.code for m in members if m.code not in types]
    if missing:
        raise ValueError(f"member_types has no type for member(s) {', '.join(missing)}")


def _tables(
    industry: Industry,
    identities: _Identities,
    member_types: Mapping[str, str] | None,
    chunk_rows: int,
) -> Iterator[pa.Table]:
    types = dict(member_types or {m.code: str(m.type) for m in industry.members})
    codes = pa.array([m.code for m in industry.members])
    type_names = pa.array([types[m.code] for m in industry.members])
    shows_mobile = np.array([m.reports_mobile for m in industry.members])
    n_members = len(industry.members)
    records = industry.records
    bounds = np.searchsorted(records.month, np.arange(industry.months + 1))
    for t in range(industry.months):
        year, month = divmod(industry.first_month + t, 12)
        stamp = f"{year:04d}{month + 1:02d}"
        file_day = int(month_end(industry.first_month + t)) + 1
        loaded_ms = file_day * 86_400_000
        lo, hi = int(bounds[t]), int(bounds[t + 1])
        member_all = industry.accounts.member[records.account[lo:hi]].astype(np.int64)
        group_start = np.searchsorted(member_all, np.arange(n_members))
        for start in range(lo, hi, chunk_rows):
            rows = np.arange(start, min(hi, start + chunk_rows))
            view = RecordView(industry, rows, daily=False)
            member = view.member
            line = rows - lo - group_start[member] + 2
            columns = view.common_columns()
            who = pa.array(view.borrower)
            mobile_hash = identities.mobile_hash.take(who)
            columns.update(
                member_code=codes.take(pa.array(member)),
                member_type=type_names.take(pa.array(member)),
                borrower_key=identities.borrower_key.take(who),
                name_hash=identities.name_hash.take(who),
                mobile_hash=pc.if_else(pa.array(shows_mobile[member]), mobile_hash, ""),
                id_type=industry.id_types.take(who),
                province=identities.province.take(who),
                birth_year=identities.birth_year.take(who),
                load_id=pc.binary_join_element_wise(
                    f"sim{industry.seed}-", codes.take(pa.array(member)), f"-{stamp}", ""
                ),
                load_seq=pa.array((t * n_members + member + 1).astype(np.uint64)),
                line=pa.array(line.astype(np.uint32)),
                flags=pa.ListArray.from_arrays(
                    pa.array(np.zeros(len(rows) + 1, dtype=np.int32)), pa.array([], pa.string())
                ),
                loaded_at=pa.array(np.full(len(rows), loaded_ms, dtype=np.int64), _TIMESTAMP),
            )
            yield pa.Table.from_arrays(
                [columns[f.name].cast(f.type) for f in LOAN_STATES_SCHEMA],
                schema=LOAN_STATES_SCHEMA,
            )


def load_into(
    wh: ArrowSink,
    industry: Industry,
    pseudonymiser: Pseudonymiser,
    *,
    member_types: Mapping[str, str] | None = None,
    chunk_rows: int = 1_000_000,
) -> int:
    """Insert every monthly record into ``loan_states`` through ``wh.insert_arrow``; return rows."""
    total = 0
    for table in bulk_tables(industry, pseudonymiser, member_types, chunk_rows):
        wh.insert_arrow(LOAN_STATES, table)
        total += table.num_rows
    return total
