"""The warehouse layer against a real embedded ClickHouse (chDB): connect, migrations, named
queries, Arrow round trips, the materialized views' idempotence, threads, and ownership of the
data directory across processes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from warehouse_data import (
    key,
    loan_state,
    loan_states_table,
    make_sql_overlay,
    unique_member,
    using_sql_dir,
)

import warehouse
from exchange.errors import ConfigError, TerminalError, TransientError
from warehouse import (
    ChecksumMismatch,
    EmbeddedPathConflict,
    MigrationError,
    QueryParameterError,
    UnknownQuery,
    Warehouse,
    WarehouseConfigError,
    WarehouseQueryError,
    WarehouseUnavailable,
    connect,
    mask_dsn,
    migrate,
    pending,
)
from warehouse.sqlfiles import placeholders, split_statements, strip_comments

pytest_plugins = ["warehouse_fixtures"]  # wh, fresh_wh

REPO = Path(__file__).resolve().parent.parent
#: The shipped migrations: tests follow the files instead of hard-coding how many there are.
MIGRATIONS = [m.name for m in warehouse.load_migrations()]
LATEST = warehouse.load_migrations()[-1].version
NEXT = f"{LATEST + 1:04d}"

EXTRA_QUERIES = {
    "t_echo": "SELECT {value:String} AS value, length({value:String}) AS chars",
    "t_loan_states": """
        SELECT account_id, borrower_key, credit_amount, balance, as_of_date, loaded_at, flags
        FROM loan_states FINAL WHERE member_code = {member:String} ORDER BY account_id""",
    "t_current": """
        SELECT account_id, borrower_key, balance, dpd, status, as_of_date
        FROM accounts_current FINAL WHERE member_code = {member:String} ORDER BY account_id""",
    "t_months": """
        SELECT month, account_id, balance, dpd
        FROM account_months FINAL WHERE member_code = {member:String}
        ORDER BY account_id, month""",
    "t_stored": """
        SELECT
            (SELECT count() FROM loan_states WHERE member_code = {member:String}) AS loan_states,
            (SELECT count() FROM accounts_current WHERE member_code = {member:String}) AS current,
            (SELECT count() FROM account_months WHERE member_code = {member:String}) AS months""",
    "t_by_key": """
        SELECT account_id FROM accounts_current FINAL
        WHERE borrower_key = {key:FixedString(64)} ORDER BY account_id""",
}


# -- SQL files ---------------------------------------------------------------------------------


def test_splitter_ignores_semicolons_and_dashes_in_comments_and_literals() -> None:
    text = """
    -- header; with a semicolon -- and dashes
    CREATE TABLE a (x String DEFAULT 'it''s; -- not a comment') ENGINE = Memory; /* block;
      /* nested; */ still comment; */
    SELECT "we;ird", `back``tick;`, 'esc\\'aped;' -- trailing; comment
    ;;
    SELECT 1
    """
    statements = split_statements(text)
    assert statements == [
        "CREATE TABLE a (x String DEFAULT 'it''s; -- not a comment') ENGINE = Memory",
        "SELECT \"we;ird\", `back``tick;`, 'esc\\'aped;'",
        "SELECT 1",
    ]
    assert "header" not in strip_comments(text)
    with pytest.raises(warehouse.WarehouseError, match="unterminated ' quote"):
        split_statements("SELECT 'open")
    with pytest.raises(warehouse.WarehouseError, match="unterminated /\\* comment"):
        split_statements("SELECT 1 /* open /* nested */")


def test_placeholders_are_found_outside_literals_only() -> None:
    sql = "SELECT {a:String}, '{b:String}', {a:String} -- {c:Date}\n FROM t WHERE d = {d:Date}"
    assert placeholders(strip_comments(sql)) == {"a": "String", "d": "Date"}
    with pytest.raises(QueryParameterError, match="two types"):
        placeholders("SELECT {a:String}, {a:UInt8}")


def test_every_named_query_has_a_header_naming_its_parameters() -> None:
    names = warehouse.query_names()
    assert {"industry_summary", "schema_tables", "schema_version", "format_query"} <= set(names)
    for name in names:
        if name.startswith("t_"):
            continue  # this module's test-only overlay queries
        text = (REPO / "sql" / "queries" / f"{name}.sql").read_text()
        header = "\n".join(line for line in text.splitlines() if line.startswith("--"))
        assert text.startswith(f"-- {name}:"), f"{name}.sql must open with '-- {name}: purpose'"
        assert "-- Parameters:" in header and "-- Result" in header, name
        for param, type_ in placeholders(split_statements(text)[0]).items():
            assert f"{{{param}:{type_}}}" in header, f"{name}.sql: document {{{param}:{type_}}}"


# -- connect and DSNs --------------------------------------------------------------------------


def test_dsn_checks_and_masking(tmp_path: Path) -> None:
    assert mask_dsn("https://u:s3cret@ch.example:8443/") == "https://u:***@ch.example:8443/"
    assert mask_dsn("chdb:///srv/wh") == "chdb:///srv/wh"
    for bad in ("chdb://relative/dir", "postgres://x/y", "http:///nohost", "chdb:///x?opt=1"):
        with pytest.raises(WarehouseConfigError) as err:
            connect(bad)
        assert isinstance(err.value, ConfigError)
    with pytest.raises(WarehouseConfigError, match="names database 'other'"):
        connect("http://u:p@127.0.0.1:1/other", database="jdx")
    with pytest.raises(WarehouseConfigError, match="not a plain identifier"):
        connect(f"chdb://{tmp_path}", database="jdx; DROP")


def test_unreachable_server_is_transient_and_hides_the_password() -> None:
    with pytest.raises(WarehouseUnavailable) as err:
        connect("http://jdx:sup3rsecret@127.0.0.1:9/")
    assert isinstance(err.value, TransientError)
    assert "sup3rsecret" not in str(err.value)
    assert "127.0.0.1:9" in str(err.value)


def test_connect_reuses_the_open_directory_and_refuses_another(
    wh: Warehouse, tmp_path: Path
) -> None:
    assert wh.is_embedded and wh.path is not None and wh.database == "jdx"
    with connect(f"chdb://{wh.path}/") as same:  # another spelling of the same directory
        assert same.path == wh.path
        assert same.schema_version() == wh.schema_version() == LATEST
    with pytest.raises(EmbeddedPathConflict, match="only one data directory per process"):
        connect(f"chdb://{tmp_path / 'other'}")
    assert wh.schema_version() == LATEST  # the open warehouse is unaffected


def test_a_second_process_gets_a_clear_ownership_error(wh: Warehouse) -> None:
    script = (
        "import json, sys, warehouse\n"
        "from exchange.errors import TransientError\n"
        "try:\n"
        "    warehouse.connect(sys.argv[1])\n"
        "except warehouse.WarehouseError as exc:\n"
        "    print(json.dumps({'type': type(exc).__name__, 'code': exc.code,\n"
        "                      'transient': isinstance(exc, TransientError),\n"
        "                      'message': exc.message}))\n"
        "else:\n"
        "    print(json.dumps({'type': None}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script, f"chdb://{wh.path}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["type"] == "WarehouseLocked", done
    assert result["code"] == "WH_LOCKED" and result["transient"] is True
    message = result["message"]
    assert f"warehouse {wh.path} is owned by another process" in message
    assert f"pid {os.getpid()} from {wh.path}/status" in message
    assert "stop it or point JDX_WAREHOUSE_DSN at a ClickHouse server" in message
    assert "Cannot lock file" not in done.stderr  # refused before chDB tried


# -- migrations --------------------------------------------------------------------------------


def test_migrations_apply_once_and_record_version_and_checksum(fresh_wh: Warehouse) -> None:
    # fresh_wh is already migrated; run again and look at the record
    assert migrate(fresh_wh) == []
    assert pending(fresh_wh) == []
    assert fresh_wh.schema_version() == LATEST
    history = warehouse.applied(fresh_wh)
    assert [(r["version"], r["name"], r["variant"]) for r in history] == [
        (int(name[:4]), name, "single") for name in MIGRATIONS
    ]
    file_bytes = (REPO / "sql" / "migrations" / "0001_initial.sql").read_bytes()
    assert history[0]["checksum"] == hashlib.sha256(file_bytes).hexdigest()
    tables = fresh_wh.table_rows()
    for table in ("submissions", "loan_states", "accounts_current", "account_months"):
        assert tables[table] == 0
    assert tables["schema_migrations"] == len(MIGRATIONS)
    assert fresh_wh.disk_bytes() > 0


def test_new_files_apply_in_order_and_an_edited_file_is_refused(
    wh: Warehouse, tmp_path: Path
) -> None:
    overlay = make_sql_overlay(tmp_path)
    database = "t_history"
    with using_sql_dir(overlay), connect(f"chdb://{wh.path}", database=database) as other:
        assert other.schema_version() == 0
        assert [m.name for m in pending(other)] == MIGRATIONS
        assert migrate(other) == MIGRATIONS

        (overlay / "migrations" / f"{NEXT}_extra.sql").write_text(
            f"-- {NEXT}: a comment; with a semicolon\n"
            "CREATE TABLE IF NOT EXISTS extra (a UInt8) ENGINE = MergeTree ORDER BY a;\n"
            "ALTER TABLE extra ADD COLUMN IF NOT EXISTS b String DEFAULT 'x;y';\n"
        )
        assert [m.name for m in pending(other)] == [f"{NEXT}_extra"]
        assert migrate(other) == [f"{NEXT}_extra"]
        assert migrate(other) == []
        assert other.schema_version() == LATEST + 1

        initial = overlay / "migrations" / "0001_initial.sql"
        initial.write_text(initial.read_text() + "\n-- an innocent-looking edit\n")
        for attempt in (migrate, pending):
            with pytest.raises(ChecksumMismatch) as err:
                attempt(other)
            assert "sql/migrations/0001_initial.sql changed after it was applied" in str(err.value)
            assert isinstance(err.value, TerminalError)

        with pytest.raises(MigrationError, match="embedded chDB, which has no cluster"):
            migrate(other, cluster="jdx_cluster")
        other.command("DROP DATABASE {db:Identifier}", db=database)


def test_a_failing_statement_names_file_and_statement(wh: Warehouse, tmp_path: Path) -> None:
    overlay = make_sql_overlay(tmp_path)
    (overlay / "migrations" / f"{NEXT}_broken.sql").write_text(
        "CREATE TABLE IF NOT EXISTS ok1 (a UInt8) ENGINE = Memory;\nCREATE TABLE oops (;\n"
    )
    with using_sql_dir(overlay), connect(f"chdb://{wh.path}", database="t_broken") as other:
        with pytest.raises(MigrationError) as err:
            migrate(other)
        assert f"sql/migrations/{NEXT}_broken.sql statement 2 of 2 failed" in str(err.value)
        assert err.value.server_code == 62  # SYNTAX_ERROR
        assert other.schema_version() == LATEST  # the shipped ones recorded, the broken one not
        other.command("DROP DATABASE {db:Identifier}", db="t_broken")


# -- named queries -----------------------------------------------------------------------------


def test_parameters_are_data_never_sql(wh: Warehouse) -> None:
    nasty = "x'); DROP TABLE loan_states; -- \\' {other:String} ;"
    row = wh.query("t_echo", value=nasty).one()
    assert row == {"value": nasty, "chars": len(nasty.encode())}
    assert wh.query("schema_tables", database="jdx' OR 1 = 1 --").rows == []
    assert "loan_states" in wh.table_rows()  # still there
    formatted = wh.query("format_query", statement="select 'a;b' -- c").one()["formatted"]
    assert formatted == "SELECT 'a;b'"


def test_parameter_mistakes_are_refused_before_the_server(wh: Warehouse) -> None:
    with pytest.raises(QueryParameterError, match="missing month"):
        wh.query("industry_summary")
    with pytest.raises(QueryParameterError, match="unexpected extra"):
        wh.query("industry_summary", month=dt.date(2024, 1, 1), extra=1)
    with pytest.raises(WarehouseQueryError) as err:
        wh.query("industry_summary", month="not a date")
    assert err.value.server_code is not None and isinstance(err.value, TerminalError)


def test_unknown_query_lists_the_known_ones(wh: Warehouse) -> None:
    with pytest.raises(UnknownQuery) as err:
        wh.query("industry_sumary", month=dt.date(2024, 1, 1))
    assert "no named query 'industry_sumary'" in str(err.value)
    assert "industry_summary" in str(err.value) and "schema_tables" in str(err.value)
    with pytest.raises(UnknownQuery):
        wh.query("../migrations/0001_initial")


def test_command_refuses_values_outside_placeholders(wh: Warehouse) -> None:
    with pytest.raises(WarehouseQueryError, match="do not match its placeholders"):
        wh.command("OPTIMIZE TABLE loan_states", table="x")
    with pytest.raises(WarehouseConfigError):
        wh.insert_rows("loan_states; DROP TABLE x", [], ["a"])


# -- inserts, types and the views ---------------------------------------------------------------


def test_insert_arrow_round_trips_decimals_and_fixedstring_keys(wh: Warehouse) -> None:
    member = unique_member()
    amounts = [Decimal("9999999999999999.99"), Decimal("0.01"), Decimal("0.30"), Decimal("0.00")]
    records = [
        loan_state(
            member_code=member,
            account_id=f"A{i}",
            borrower_key=key(f"b{i}"),
            balance=amount,
            credit_amount=amount or Decimal("0.01"),
            line=i,
            flags=["W_NOTICE"] if i == 1 else [],
        )
        for i, amount in enumerate(amounts)
    ]
    assert wh.insert_arrow("loan_states", loan_states_table(records)) == 4
    rows = wh.query("t_loan_states", member=member).dicts()
    assert [r["balance"] for r in rows] == amounts
    assert [r["credit_amount"] for r in rows] == [a or Decimal("0.01") for a in amounts]
    assert [r["borrower_key"] for r in rows] == [key(f"b{i}") for i in range(4)]
    assert rows[1]["flags"] == ["W_NOTICE"]
    assert rows[0]["loaded_at"] == dt.datetime(2024, 2, 1, 8, 0)  # naive UTC

    table = wh.query_arrow("t_loan_states", member=member)
    assert table.column("balance").to_pylist() == amounts
    assert str(table.schema.field("balance").type) == "decimal128(18, 2)"
    assert table.column("borrower_key").to_pylist()[0] == key("b0")  # text, not bytes

    current = wh.query("t_current", member=member)
    assert current.columns[:3] == ("account_id", "borrower_key", "balance")
    assert [r[2] for r in current] == amounts


def test_insert_rows_writes_python_tuples(fresh_wh: Warehouse) -> None:
    cols = ["member_code", "day", "dimension", "field", "passed", "checked", "computed_at"]
    rows = [("TDQ", dt.date(2024, 1, 31), "validity", "dpd", 98, 100, dt.datetime(2024, 2, 1))]
    assert fresh_wh.insert_rows("dq_daily", rows, cols) == 1
    assert fresh_wh.table_rows()["dq_daily"] == 1


def test_views_fill_current_and_months_and_a_replay_counts_once(wh: Warehouse) -> None:
    member = unique_member()
    jan = [
        loan_state(member_code=member, account_id="A1", borrower_key=key("p1"), line=1),
        loan_state(member_code=member, account_id="A2", borrower_key=key("p2"), line=2),
    ]
    wh.insert_arrow("loan_states", loan_states_table(jan))
    wh.insert_arrow("loan_states", loan_states_table(jan))  # crash-and-retry replay, same load_seq
    stored = wh.query("t_stored", member=member).one()
    assert stored == {"loan_states": 4, "current": 4, "months": 4}  # stored twice ...
    assert len(wh.query("t_loan_states", member=member)) == 2  # ... counted once under FINAL
    assert [r[0] for r in wh.query("t_current", member=member)] == ["A1", "A2"]
    assert len(wh.query("t_months", member=member)) == 2
    wh.optimize("accounts_current")
    assert wh.query("t_stored", member=member).one()["current"] == 2  # merged away for good


def test_a_later_as_of_wins_and_a_correction_of_the_same_day_wins(wh: Warehouse) -> None:
    member = unique_member()
    states = [
        loan_state(member_code=member, as_of_date=dt.date(2024, 1, 31), balance=Decimal("900")),
        loan_state(
            member_code=member,
            as_of_date=dt.date(2024, 2, 29),
            balance=Decimal("800"),
            dpd=35,
            status="OVERDUE",
            overdue_amount=Decimal("450"),
            load_id="L2",
            load_seq=2,
        ),
        # an older as_of loaded later (a late correction of January) must not win "current"
        loan_state(
            member_code=member,
            as_of_date=dt.date(2024, 1, 31),
            balance=Decimal("950"),
            load_id="L3",
            load_seq=3,
        ),
    ]
    for state in states:  # three separate loads
        wh.insert_arrow("loan_states", loan_states_table([state]))
    current = wh.query("t_current", member=member).one()
    assert current["balance"] == Decimal("800.00") and current["dpd"] == 35
    assert current["as_of_date"] == dt.date(2024, 2, 29)
    months = wh.query("t_months", member=member).dicts()
    assert [(m["month"], m["balance"]) for m in months] == [
        (dt.date(2024, 1, 1), Decimal("950.00")),  # January's correction wins January
        (dt.date(2024, 2, 1), Decimal("800.00")),
    ]


def test_a_d_record_removes_the_account_under_final(wh: Warehouse) -> None:
    member = unique_member()
    keep = loan_state(member_code=member, account_id="KEEP", borrower_key=key("d1"))
    gone = loan_state(member_code=member, account_id="GONE", borrower_key=key("d1"), line=2)
    wh.insert_arrow("loan_states", loan_states_table([keep, gone]))
    delete = {**gone, "record_type": "D", "as_of_date": dt.date(2024, 1, 31), "load_seq": 2}
    wh.insert_arrow("loan_states", loan_states_table([delete]))
    assert [r[0] for r in wh.query("t_current", member=member)] == ["KEEP"]
    assert [r["account_id"] for r in wh.query("t_months", member=member).dicts()] == ["KEEP"]
    assert [r[0] for r in wh.query("t_by_key", key=key("d1"))] == ["KEEP"]


def test_industry_summary_on_hand_worked_figures(fresh_wh: Warehouse) -> None:
    jan, feb = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
    overdue = {"status": "OVERDUE", "overdue_amount": Decimal("100")}
    states = [
        # member M1: borrower p1 two accounts (one 45 dpd), borrower p2 one closed account
        loan_state(member_code="TM1", account_id="a", borrower_key=key("p1"), as_of_date=jan),
        loan_state(
            member_code="TM1",
            account_id="b",
            borrower_key=key("p1"),
            as_of_date=jan,
            dpd=45,
            **overdue,
        ),
        loan_state(
            member_code="TM1",
            account_id="c",
            borrower_key=key("p2"),
            as_of_date=jan,
            status="CLOSED",
            balance=Decimal("0"),
            closed_date=jan,
        ),
        # member M2: borrower p1 again (multi-borrowing) with 10 dpd, borrower p3 deleted (D)
        loan_state(
            member_code="TM2",
            account_id="d",
            borrower_key=key("p1"),
            as_of_date=jan,
            dpd=10,
            **overdue,
        ),
        loan_state(member_code="TM2", account_id="e", borrower_key=key("p3"), as_of_date=jan),
        loan_state(
            member_code="TM2",
            account_id="e",
            borrower_key=key("p3"),
            as_of_date=jan,
            record_type="D",
            load_seq=2,
        ),
        # February exists (history), one account
        loan_state(member_code="TM1", account_id="a", borrower_key=key("p1"), as_of_date=feb),
    ]
    fresh_wh.insert_arrow("loan_states", loan_states_table(states))
    fresh_wh.insert_arrow("loan_states", loan_states_table(states))  # replay changes nothing
    january = fresh_wh.query("industry_summary", month=dt.date(2024, 1, 15)).one()
    assert january == {
        "report_month": dt.date(2024, 1, 1),
        "members_reporting": 2,
        "borrowers": 1,  # p1 only: p2 closed, p3 deleted
        "open_accounts": 3,  # a, b, d
        "open_accounts_dpd30": 1,  # b
        "dpd30_share": pytest.approx(1 / 3),
        "months_available": 1,
    }
    february = fresh_wh.query("industry_summary", month=feb).one()
    assert (february["open_accounts"], february["months_available"]) == (1, 2)
    empty = fresh_wh.query("industry_summary", month=dt.date(2023, 1, 1)).one()
    assert empty["open_accounts"] == 0 and empty["dpd30_share"] is None


# -- threads -----------------------------------------------------------------------------------


def test_eight_threads_get_their_own_rows(wh: Warehouse) -> None:
    member = unique_member()
    records = [
        loan_state(member_code=member, account_id=f"T{t}-{i}", borrower_key=key(f"thr{t}"))
        for t in range(8)
        for i in range(t + 1)  # thread t's borrower has t + 1 accounts
    ]
    wh.insert_arrow("loan_states", loan_states_table(records))
    failures: list[str] = []
    start = threading.Barrier(8)

    def work(t: int) -> None:
        expected = [f"T{t}-{i}" for i in range(t + 1)]
        start.wait()
        for _ in range(40):
            got = [r[0] for r in wh.query("t_by_key", key=key(f"thr{t}"))]
            if got != expected:
                failures.append(f"thread {t}: {got} != {expected}")
                return

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_migrate_and_status(wh: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from cli import Context
    from cli.warehouse import warehouse_group

    for name in list(os.environ):
        if name.startswith("JDX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JDX_HOME", str(tmp_path))
    monkeypatch.setenv("JDX_WAREHOUSE_DSN", f"chdb://{wh.path}")
    monkeypatch.setenv("JDX_WAREHOUSE_DATABASE", "t_cli")
    runner = CliRunner()

    before = runner.invoke(warehouse_group, ["status", "--json"], obj=Context(None))
    assert before.exit_code == 0, before.output
    status = json.loads(before.output)
    assert status["schema_version"] == 0 and status["pending"] == MIGRATIONS
    assert status["mode"] == "embedded" and status["path"] == str(wh.path)

    first = runner.invoke(warehouse_group, ["migrate"], obj=Context(None))
    assert first.exit_code == 0, first.output
    assert all(f"applied {name}" in first.output for name in MIGRATIONS)
    assert f"schema version {LATEST}" in first.output
    again = runner.invoke(warehouse_group, ["migrate"], obj=Context(None))
    assert "(up to date)" in again.output and "applied" not in again.output

    text = runner.invoke(warehouse_group, ["status"], obj=Context(None))
    assert text.exit_code == 0, text.output
    assert f"warehouse: chdb://{wh.path} (embedded chDB at {wh.path})" in text.output
    assert f"schema version: {LATEST}" in text.output
    assert "pending migrations: none" in text.output
    assert "loan_states" in text.output and "size on disk:" in text.output
    wh.command("DROP DATABASE {db:Identifier}", db="t_cli")
