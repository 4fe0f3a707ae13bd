"""Warehouse fixtures (a pytest plugin): a real chDB warehouse per test module.

chDB runs one data directory at a time per process (DOMAIN.md §7): while a warehouse is open, no
other directory can be opened in the same process. So the warehouse here is **module-scoped**: a
module's tests share one directory (isolated by database or by member code), and it is closed at
the end of the module so other modules (``jdx init`` tests, ingest tests) can open their own
directories afterwards. Anything that needs a second directory at the same time runs in a
subprocess.

Use from a test module (or list the plugin once in ``tests/conftest.py``)::

    pytest_plugins = ["warehouse_fixtures"]  # fixtures wh, fresh_wh
    from warehouse_data import loan_state, loan_states_table  # helpers

A module may define ``EXTRA_QUERIES = {"name": "SELECT ..."}``: test-only named queries, served
from an overlay copy of the ``sql`` package directory (the real files plus these), so tests read
through :meth:`Warehouse.query` exactly as the code does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from warehouse_data import make_sql_overlay, using_sql_dir

from warehouse import Warehouse, connect, migrate


@pytest.fixture(scope="module")
def wh(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Warehouse]:
    """This module's migrated warehouse (database ``jdx``) in a fresh chDB directory."""
    base = tmp_path_factory.mktemp("warehouse")
    overlay = make_sql_overlay(base, getattr(request.module, "EXTRA_QUERIES", None))
    with using_sql_dir(overlay), connect(f"chdb://{base / 'data'}") as warehouse:
        migrate(warehouse)
        yield warehouse


@pytest.fixture
def fresh_wh(wh: Warehouse) -> Iterator[Warehouse]:
    """A second Warehouse on the module's directory with its own new, migrated database."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    with connect(f"chdb://{wh.path}", database=database) as other:
        migrate(other)
        yield other
        other.command("DROP DATABASE IF EXISTS {db:Identifier}", db=database)
