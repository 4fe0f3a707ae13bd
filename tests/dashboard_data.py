"""A data directory with published releases for the dashboard tests and the benchmark.

:func:`publish_releases` runs ``jdx init`` on ``home`` (a subprocess, as an operator would),
then, in this process, loads ``release_data.disclosure_records`` (ten institutions whose
BANK/MICROLOAN and AUTO/BNPL cells are suppressed) into the home's own warehouse and builds real
releases with :func:`reports.release.build`: 2025-03 v1, then a correction of February by one
member and 2025-03 v2 (which revises February's figures). The warehouse is
closed on return, so ``jdx serve`` can own it afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from release_data import disclosure_records
from warehouse_data import loan_states_table

REPO = Path(__file__).resolve().parent.parent
JDX = [sys.executable, "-c", "from cli import main; main()"]
PEPPER_HEX = "00" * 32


def environment(home: Path) -> dict[str, str]:
    """The outer environment without ``JDX_*``, the home, any free ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env.update(
        JDX_HOME=str(home),
        JDX_PEPPER=PEPPER_HEX,
        JDX_SFTP_PORT="0",
        JDX_API_PORT="0",
        JDX_INGEST_POLL_INTERVAL="0.5",
        PYTHONPATH=str(REPO),
    )
    return env


@contextmanager
def settings_for(home: Path) -> Iterator[Any]:
    from exchange.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("JDX_"):
                mp.delenv(name)
        for name, value in environment(home).items():
            if name.startswith("JDX_"):
                mp.setenv(name, value)
        yield load_settings()


def correction() -> list[dict[str, Any]]:
    """MCL02 corrects February: two current cash accounts were 40 and 100 days past due."""
    out = []
    for record in disclosure_records(months=(2,)):
        if record["member_code"] == "MCL02" and record["account_id"] in (
            "MCL02-CA00",
            "MCL02-CA01",
        ):
            dpd = 40 if record["account_id"].endswith("00") else 100
            out.append(
                {**record, "dpd": dpd, "status": "OVERDUE", "load_seq": 99, "load_id": "FIX"}
            )
    return out


def publish_releases(home: Path) -> Path:
    """``jdx init`` then the two releases; returns the releases directory."""
    import datetime as dt

    from exchange.registry import db as registry_db
    from reports.release import build
    from runtime.build import open_warehouse

    done = subprocess.run(
        [*JDX, "init"], env=environment(home), capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    with settings_for(home) as settings, open_warehouse(settings) as wh:
        wh.insert_arrow("loan_states", loan_states_table(disclosure_records()))
        build(settings, wh, dt.date(2025, 3, 1))
        wh.insert_arrow("loan_states", loan_states_table(correction()))
        second = build(settings, wh, dt.date(2025, 3, 1))
        assert second.created and second.version == 2, (second.version, second.created)
        registry_db.dispose(settings.registry_url)
        return second.path.parent.parent
