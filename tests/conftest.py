"""Shared fixtures: an isolated data directory and a real registry database per test.

- ``jdx_home``: every ``JDX_*`` variable of the outer environment removed (``JDX_TEST_*`` kept),
  ``JDX_HOME`` set to a fresh directory under the test's ``tmp_path``; returns the settings.
- ``registry_url``: the registry URL of those settings, empty (not upgraded). By default a SQLite
  file in the data directory. Set ``JDX_TEST_REGISTRY_URL`` to a SQLAlchemy URL of a *throwaway*
  PostgreSQL database (e.g. ``postgresql+psycopg://jdx@127.0.0.1:5432/jdx_test``) to run the
  registry tests there instead, as JupyterHub's suite does: every table in it is dropped before
  each test.
- ``registry``: the same URL upgraded to the head revision.

Stages add their own fixtures here; keep these generic.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import MetaData

from exchange.registry import db as registry_db
from exchange.settings import Settings
from runtime.config import load as load_settings

TEST_REGISTRY_URL = os.environ.get("JDX_TEST_REGISTRY_URL") or None

# In CI, property tests replay the same examples every run (a new counter-example found locally is
# a bug to fix, not a flaky build); locally they explore and remember failures as usual.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def drop_all_tables(url: str) -> None:
    """Empty a test database completely (alembic's version table included)."""
    with registry_db.engine(url).begin() as conn:
        metadata = MetaData()
        metadata.reflect(conn)
        metadata.drop_all(conn)
    registry_db.dispose(url)


@pytest.fixture
def jdx_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("JDX_") and not name.startswith("JDX_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JDX_HOME", str(tmp_path / "jdx-home"))
    if TEST_REGISTRY_URL:
        monkeypatch.setenv("JDX_REGISTRY_URL", TEST_REGISTRY_URL)
    return load_settings()


@pytest.fixture
def registry_url(jdx_home: Settings) -> Iterator[str]:
    url = jdx_home.registry_url
    if TEST_REGISTRY_URL:
        drop_all_tables(url)
    yield url
    registry_db.dispose(url)


@pytest.fixture
def registry(registry_url: str) -> str:
    registry_db.upgrade(registry_url)
    return registry_url
