"""The cluster DDL (sql/cluster/) against the single-node migrations, checked with ClickHouse itself.

chDB has no cluster and no Keeper, so the cluster statements cannot run as written. Instead:

1. every statement of every migration and cluster file (and the bootstrap DDL) is parsed by
   ClickHouse's ``formatQuery()`` through the named query ``format_query``;
2. the structure is checked on the parsed text: every table has a ``<t>_local`` with a Replicated
   engine on a ``{shard}`` Keeper path and a ``Distributed`` ``<t>`` over it with the right
   sharding key; the views read and write local tables;
3. the cluster file is *de-clustered* (ON CLUSTER dropped, Replicated engines → their plain
   engine with the same arguments, Distributed → Memory) and executed in a scratch database, and
   the tables it builds are compared column by column, key by key, with the single-node ones; an
   insert into ``loan_states_local`` must fill the local views' targets.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from warehouse_data import loan_state, loan_states_table

from warehouse import Warehouse, connect, load_migrations
from warehouse.migrations import (
    BOOTSTRAP_CLUSTER,
    BOOTSTRAP_SINGLE,
    CREATE_DATABASE_ON_CLUSTER,
)

pytest_plugins = ["warehouse_fixtures"]  # wh

EXTRA_QUERIES = {
    "t_columns": """
        SELECT table, name, type, default_kind, default_expression
        FROM system.columns WHERE database = {database:String} ORDER BY table, position""",
    "t_tables": """
        SELECT name, engine, sorting_key, partition_key, primary_key, as_select
        FROM system.tables WHERE database = {database:String} ORDER BY name""",
    "t_local_view_rows": """
        SELECT
            (SELECT count() FROM {database:Identifier}.accounts_current_local) AS current,
            (SELECT count() FROM {database:Identifier}.account_months_local) AS months""",
}

#: Tables read by borrower: sharded by borrower_key so a borrower lives on one shard.
BORROWER_TABLES = {"loan_states", "accounts_current", "account_months", "inquiries", "lookup_rows",
                   "borrower_lookup", "inquiry_counts", "borrower_accounts",
                   "inquiry_summary", "inquiries_recent"}  # fmt: skip

#: Borrower tables keyed by the digest's bytes (0016): sharded by the hash of its hex form, so a
#: borrower's rows land on the shard of its rows in the hex-keyed tables.
BINARY_KEYED = {"borrower_accounts"}
#: Tables neither read by borrower nor by member: their sharding key.
OTHER_KEYS = {
    "inquiry_summary_builds": "cityHash64(through)",  # one row a night, read whole
    "inquiry_summary_claims": "cityHash64(through)",
}  # a generation's claims together
_CREATE = re.compile(
    r"^CREATE TABLE IF NOT EXISTS \{database:Identifier\}\.(\w+) ON CLUSTER `\{cluster\}`\n"
    r".*?\nENGINE = (\w+)\(([^\n]*)\)(?:\n|$)",
    re.S,
)
_DROP = re.compile(r"^DROP (?:TABLE|VIEW) IF EXISTS \{database:Identifier\}\.(\w+) ON CLUSTER")
_VIEW = re.compile(
    r"^CREATE MATERIALIZED VIEW IF NOT EXISTS \{database:Identifier\}\.(\w+) "
    r"ON CLUSTER `\{cluster\}` TO \{database:Identifier\}\.(\w+)\n.*FROM (\S+)",
    re.S,
)


def parse(wh: Warehouse, statement: str) -> str:
    return str(wh.query("format_query", statement=statement).one()["formatted"])


@pytest.fixture(scope="module")
def cluster_statements(wh: Warehouse) -> list[str]:
    """Every cluster statement, as ClickHouse formats it after parsing."""
    return [parse(wh, s) for m in load_migrations("cluster") for s in m.statements]


def single_node_tables() -> dict[str, str]:
    """Table name → engine name of the single-node migrations (from the files), without the
    tables a later migration drops."""
    tables = {}
    for migration in load_migrations("single"):
        for statement in migration.statements:
            match = re.match(r"CREATE TABLE IF NOT EXISTS (\w+)\s.*ENGINE = (\w+)", statement, re.S)
            if match:
                tables[match.group(1)] = match.group(2)
            dropped = re.match(r"DROP TABLE IF EXISTS (\w+)", statement)
            if dropped:
                tables.pop(dropped.group(1))
    return tables


def test_every_statement_of_every_file_parses(wh: Warehouse) -> None:
    checked = 0
    for variant in ("single", "cluster"):
        for migration in load_migrations(variant):
            assert migration.statements, migration.path
            for index, statement in enumerate(migration.statements, start=1):
                try:
                    parse(wh, statement)
                except Exception as exc:  # name the file and statement in the failure
                    pytest.fail(f"{migration.path} statement {index} does not parse: {exc}")
                checked += 1
    for statement in (BOOTSTRAP_SINGLE, BOOTSTRAP_CLUSTER, CREATE_DATABASE_ON_CLUSTER):
        parse(wh, statement)
    assert checked >= 20


def test_every_migration_has_a_cluster_variant() -> None:
    single = [m.name for m in load_migrations("single")]
    cluster = [m.name for m in load_migrations("cluster")]
    assert single == cluster


def test_every_statement_runs_on_the_cluster(cluster_statements: list[str]) -> None:
    for statement in cluster_statements:
        if statement.startswith("INSERT INTO"):
            # a copy of a table's rows (a rebuild, 0012): one insert, sent from the node migrate
            # talks to, from Distributed tables to Distributed tables — never a node's local table
            assert "_local" not in statement, statement[:120]
            continue
        assert " ON CLUSTER `{cluster}`" in statement.split("\n")[0], statement[:120]


def test_each_table_has_a_replicated_local_table_and_a_distributed_one(
    cluster_statements: list[str],
) -> None:
    created: dict[str, tuple[str, str]] = {}
    for statement in cluster_statements:
        match = _CREATE.match(statement)
        if match:
            created[match.group(1)] = (match.group(2), match.group(3))
        dropped = _DROP.match(statement)
        if dropped:
            created.pop(dropped.group(1), None)
    singles = single_node_tables()
    assert set(created) == {f"{t}_local" for t in singles} | set(singles)
    for table, engine in singles.items():
        local_engine, local_args = created[f"{table}_local"]
        assert local_engine == f"Replicated{engine}", table
        assert local_args.startswith(
            f"'/clickhouse/tables/{{shard}}/{{database}}/{table}', '{{replica}}'"
        ), (table, local_args)
        dist_engine, dist_args = created[table]
        key = ("cityHash64(lower(hex(borrower_key)))" if table in BINARY_KEYED
               else "cityHash64(borrower_key)" if table in BORROWER_TABLES
               else OTHER_KEYS.get(table, "cityHash64(member_code"))  # fmt: skip
        assert dist_engine == "Distributed", table
        assert dist_args.startswith(
            f"'{{cluster}}', {{database:String}}, '{table}_local', {key}"
        ), (table, dist_args)


def test_views_read_and_write_local_tables(cluster_statements: list[str]) -> None:
    views = {}
    for statement in cluster_statements:
        match = _VIEW.match(statement)
        if match:
            views[match.group(1)] = (match.group(2), match.group(3))
        dropped = _DROP.match(statement)
        if dropped:
            views.pop(dropped.group(1), None)
    assert views == {
        "accounts_current_mv": (
            "accounts_current_local",
            "{database:Identifier}.loan_states_local",
        ),
        "account_months_mv": ("account_months_local", "{database:Identifier}.loan_states_local"),
        "borrower_lookup_accounts_mv": (
            "borrower_lookup_local",
            "{database:Identifier}.accounts_current_local",
        ),
        "borrower_lookup_months_mv": (
            "borrower_lookup_local",
            "{database:Identifier}.account_months_local",
        ),
        "borrower_lookup_counts_mv": (
            "borrower_lookup_local",
            "{database:Identifier}.inquiry_counts_local",
        ),
        "borrower_accounts_mv": (
            "borrower_accounts_local",
            "{database:Identifier}.accounts_current_local",
        ),
        "inquiries_recent_mv": ("inquiries_recent_local", "{database:Identifier}.inquiries_local"),
    }


def declustered(statement: str) -> str:
    """The statement as it would run on one node without Keeper (see module docstring)."""
    out, n_cluster = re.subn(r"\s+ON CLUSTER '\{cluster\}'", "", statement)
    assert n_cluster == (0 if statement.startswith("INSERT INTO") else 1), statement[:120]
    out = re.sub(r"Replicated(\w*MergeTree)\(\s*'[^']*'\s*,\s*'[^']*'\s*(?:,\s*)?", r"\1(", out)
    out = re.sub(r"ENGINE = Distributed\(.*\)\s*$", "ENGINE = Memory", out, flags=re.S)
    assert "Replicated" not in out and "Distributed" not in out, out[:200]
    return out


def test_declustered_ddl_builds_the_single_node_tables(wh: Warehouse) -> None:
    scratch = "cluster_check"
    with connect(f"chdb://{wh.path}", database=scratch) as other:
        try:
            for migration in load_migrations("cluster"):
                for statement in migration.statements:
                    other.command(declustered(statement), database=scratch)
            compare_with_single_node(wh, scratch)

            # the views hang on the local table: one insert fills both local targets
            other.insert_arrow("loan_states_local", loan_states_table([loan_state()]))
            rows = wh.query("t_local_view_rows", database=scratch).one()
            assert rows == {"current": 1, "months": 1}
        finally:
            other.command("DROP DATABASE IF EXISTS {db:Identifier}", db=scratch)


def compare_with_single_node(wh: Warehouse, scratch: str) -> None:
    def columns(database: str) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for row in wh.query("t_columns", database=database):
            out.setdefault(row[0], []).append(tuple(row[1:]))
        return out

    def tables(database: str) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in wh.query("t_tables", database=database).dicts()}

    single_cols, cluster_cols = columns(wh.database), columns(scratch)
    single_tabs, cluster_tabs = tables(wh.database), tables(scratch)
    for table, engine in single_node_tables().items():
        assert cluster_cols[f"{table}_local"] == single_cols[table], table
        assert cluster_cols[table] == single_cols[table], table
        local, single = cluster_tabs[f"{table}_local"], single_tabs[table]
        assert local["engine"] == single["engine"] == engine
        for key in ("sorting_key", "partition_key", "primary_key"):
            assert local[key] == single[key], (table, key)
        assert cluster_tabs[table]["engine"] == "Memory"  # stands in for Distributed
    views = ("accounts_current_mv", "account_months_mv", "borrower_lookup_accounts_mv",
             "borrower_lookup_months_mv")  # fmt: skip
    for view in views:
        local_select = cluster_tabs[view]["as_select"].replace(f"{scratch}.", "")
        single_select = single_tabs[view]["as_select"].replace(f"{wh.database}.", "")
        assert re.sub(r"\b(\w+)_local\b", r"\1", local_select) == single_select, view
