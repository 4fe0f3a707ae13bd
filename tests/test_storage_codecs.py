"""Migration 0009 (storage codecs) upgrades a warehouse with data and changes no answer.

A real chDB warehouse migrated up to the version before 0009, the golden population loaded through
``loan_states`` and its views; then upgraded and merged (``OPTIMIZE … FINAL`` rewrites every part
with the new codecs): every row of the four tables that grow with the data reads back the same,
so every lookup reading them answers the same; the codecs are on the columns; a load after the
upgrade still fills every view.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import population, seed
from warehouse_data import loan_state, loan_states_table, make_sql_overlay, using_sql_dir

from exchange.pseudonym import Pseudonymiser
from warehouse import Warehouse, connect, load_migrations, migrate

TABLES = ("loan_states", "accounts_current", "account_months", "borrower_lookup")
EXTRA_QUERIES = {
    "t_codecs": "SELECT table, name, compression_codec FROM system.columns "
    "WHERE database = currentDatabase() ORDER BY table, name",
    **{
        f"t_all_{table}": f"SELECT * FROM {table} FINAL ORDER BY ALL SETTINGS max_threads = 1"
        for table in TABLES
    },
    "t_parts": "SELECT table, count() AS parts FROM system.parts "
    "WHERE database = currentDatabase() AND active GROUP BY table",
}
PSEUD = Pseudonymiser(bytes(range(32)))
BEFORE = max(m.version for m in load_migrations("single") if m.version < 9)


def rows(wh: Warehouse) -> dict[str, list[tuple[object, ...]]]:
    return {table: wh.query(f"t_all_{table}").rows for table in TABLES}


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, dict]]:
    base = tmp_path_factory.mktemp("codecs")
    overlay = make_sql_overlay(base, EXTRA_QUERIES)
    with using_sql_dir(overlay), connect(f"chdb://{base / 'data'}") as wh:
        assert migrate(wh, upto=BEFORE)[-1].startswith(f"{BEFORE:04d}_")
        seed(wh, PSEUD, population())
        before = rows(wh)
        assert migrate(wh, upto=9) == ["0009_storage_codecs"]
        # and the later ones keep the codecs (0011 rebuilds borrower_lookup) up to 0018, which
        # packs borrower_lookup's figures in one column (tests/test_lookup_migration.py)
        migrate(wh, upto=17)
        for table in TABLES:
            wh.optimize(table)
        yield wh, before


def test_every_row_reads_back_the_same(upgraded: tuple[Warehouse, dict]) -> None:
    wh, before = upgraded
    assert all(before[t] for t in TABLES)  # the population filled every table
    assert rows(wh) == before


def test_the_codecs_are_on_the_columns(upgraded: tuple[Warehouse, dict]) -> None:
    wh, _ = upgraded
    codecs = {(t, c): codec for t, c, codec in wh.query("t_codecs").rows}
    for table in TABLES:
        assert codecs[(table, "borrower_key")] == "CODEC(ZSTD(1))"
        assert codecs[(table, "account_id")] == "CODEC(ZSTD(1))"
    assert codecs[("loan_states", "line")] == "CODEC(Delta(4), ZSTD(1))"
    assert codecs[("loan_states", "version")] == ""  # MATERIALIZED: left as it was
    assert codecs[("loan_states", "member_code")] == ""  # LowCardinality: left as it was


def test_a_load_after_the_upgrade_fills_every_view(upgraded: tuple[Warehouse, dict]) -> None:
    wh, before = upgraded
    state = loan_state(account_id="CODEC-1", load_seq=10**6)
    wh.insert_arrow("loan_states", loan_states_table([state]))
    after = rows(wh)
    for table in TABLES:
        assert len(after[table]) > len(before[table]), table
