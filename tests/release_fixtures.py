"""Release fixtures (a pytest plugin): a JDX home with secrets and a registry per test module,
for tests that build releases through ``reports.release.build``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from exchange.keyfiles import ensure_secrets
from exchange.registry import db as registry_db
from exchange.settings import Settings, load_settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    home = tmp_path_factory.mktemp("jdx-home")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("JDX_") and not name.startswith("JDX_TEST_"):
                mp.delenv(name)
        mp.setenv("JDX_HOME", str(home))
        s = load_settings()
        ensure_secrets(s)
        registry_db.upgrade(s.registry_url)
        yield s
        registry_db.dispose(s.registry_url)
