"""Inquiries seconds old count in the next answer of ``jdx serve``, over HTTP, also across a
restart of the server: the inquiry log answers its recent lookups from memory, folds whole
minutes into ``inquiry_counts`` (every second here) and, at start, takes back into memory what
no fold has counted yet (a real ``jdx serve`` subprocess, real uvicorn, real chDB)."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from serve_support import running_exchange, serve_env
from test_ingest_e2e import JDX

pytestmark = pytest.mark.slow

ENV = {"JDX_API_RECIPROCITY": "false", "JDX_API_INQUIRY_FOLD_SECONDS": "1"}
BORROWER = {"id_type": "RIC", "id_number": "110101199003070011", "consent_ref": "C-1",
            "purpose": "LOAN_APPROVAL"}  # fmt: skip


def seven_days(api: str, token: str) -> tuple[int, int]:
    """(inquiries, institutions) in 7 days that a multi-loan answer reports for BORROWER."""
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}) as c:
        r = c.post("/v1/multi-loan", json=BORROWER, timeout=60)
    assert r.status_code == 200, r.text
    window = r.json()["inquiries"]["windows"]["7d"]
    return window["count"], window["institutions"]


@contextmanager
def serve_again(home: Path) -> Iterator[str]:
    """``jdx serve`` started again on ``home``; yields the API's URL."""
    proc = subprocess.Popen(
        [*JDX, "serve"], env={**serve_env(home), **ENV}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    api = ""
    for line in proc.stdout:
        if found := re.match(r"api: (http://127\.0\.0\.1:\d+) ", line):
            api = found.group(1)
        if line.startswith("serving"):
            break
    try:
        assert api
        yield api
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)  # only if it did not stop: this test's own process
            proc.wait(timeout=30)


def test_inquiries_seconds_old_count_at_once_and_after_a_restart(tmp_path: Path) -> None:
    joined = dt.date(2020, 1, 1)
    members = {"BANKX": (joined, "BANK"), "CFX": (joined, "CONSUMER_FINANCE")}
    with running_exchange(tmp_path, members, env=ENV, products=("multi_loan",)) as ex:
        bank, cf = ex.tokens["BANKX"], ex.tokens["CFX"]
        assert seven_days(ex.api, bank) == (0, 0)
        assert seven_days(ex.api, cf) == (1, 1)  # the bank's lookup, made just now
        assert seven_days(ex.api, bank) == (2, 2)
        home = ex.home
    with serve_again(home) as api:  # counted once, whether folded or back in memory
        assert seven_days(api, cf) == (3, 2)
        assert seven_days(api, cf) == (4, 2)
