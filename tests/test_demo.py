"""The demo end to end, as the README's first command runs it, and the privacy of what it stores.

Runs ``jdx demo`` in subprocesses (each owns its chDB directory, as one process must), twice to
show it is idempotent, then scans every text column of every warehouse table for the raw
identities the simulator generated.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ARGS = ["--members", "8", "--borrowers", "1500", "--months", "6", "--seed", "11"]
#: a borrower line of the demo's lookups over HTTP: masked RIC, open accounts, institutions
LOOKUP = re.compile(
    r"^  (\d\d\*{14}[0-9X]{2})\s+(\d+)\s+(\d+)\s+\d+\.\d\d\s+\d+  [1-7NCGZ*#]", re.M
)
FIGURES = re.compile(
    r"^\s+(members reporting|active borrowers|open accounts|months of history|30\+ dpd share \(count\))\s+(\S+)$",
    re.M,
)


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env["JDX_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        env=env,
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("demo") / "jdx-data"
    first = run(home, "demo", *ARGS)
    (home.parent / "demo-stdout.txt").write_text(first.stdout)
    return home, first.stdout


def test_demo_builds_an_exchange_and_prints_the_summary(demo_home):
    home, out = demo_home
    figures = dict(FIGURES.findall(out))
    assert figures["members reporting"] == "8"
    assert figures["months of history"] == "6"
    assert int(figures["open accounts"].replace(",", "")) > 1000
    assert 0.5 < float(figures["30+ dpd share (count)"].rstrip("%")) < 15
    assert (home / "secrets" / "pepper").stat().st_mode & 0o777 == 0o600
    assert "pepper" not in out.lower().replace("secrets/pepper", "")  # path only, never the value
    pepper = (home / "secrets" / "pepper").read_text().strip()
    assert pepper not in out
    # the API served on this process's warehouse: three borrowers looked up over HTTP, a batch
    lookups = LOOKUP.findall(out)
    assert len(lookups) == 3 and all(int(n) >= 1 for _, n, _ in lookups), out
    assert re.search(r"batch of \d+: \d+ looked up", out), out
    assert "OpenAPI docs http://127.0.0.1:8400/docs" in out
    members = run(home, "member", "list", "--json")
    assert len(json.loads(members.stdout)) == 8
    assert run(home, "audit", "verify").stdout.startswith("ok:")


LOGIN = re.compile(
    r"^    (staff \(console\)|member \w+)\s+user (\S+)\s+password (\S+)  \(shown once", re.M
)


def test_demo_prints_the_dashboards_and_two_logins_stored_hashed(demo_home):
    home, out = demo_home
    assert "member portal    http://127.0.0.1:8400/dashboards/portal" in out
    assert "ops console      http://127.0.0.1:8400/dashboards/console" in out
    logins = {who: (name, password) for who, name, password in LOGIN.findall(out)}
    assert set(logins) >= {"staff (console)"} and len(logins) == 2, out
    registry = (home / "registry.sqlite3").read_bytes()
    check = textwrap.dedent(
        """
        import json, sys
        from exchange.registry import db
        from exchange.registry.users import check_password
        from runtime.config import load
        url = load().registry_url
        with db.session(url, readonly=True) as s:
            found = [check_password(s, n, p) for n, p in json.loads(sys.argv[1])]
        print(json.dumps([[u.role.value, u.institution] for u in found]))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    done = subprocess.run(
        [sys.executable, "-c", check, json.dumps(list(logins.values()))],
        env={**env, "JDX_HOME": str(home)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    roles = json.loads(done.stdout)
    assert roles[0] == ["admin", None] and roles[1][0] == "analyst" and roles[1][1]
    for _, password in logins.values():
        assert password.encode() not in registry  # only the argon2id hash is stored


def test_demo_is_idempotent(demo_home):
    home, first = demo_home
    second = run(home, "demo", *ARGS).stdout
    assert not LOGIN.findall(second) and "shown when the demo first made it" in second
    assert FIGURES.findall(second) == FIGURES.findall(first)
    assert "0 added, 8 already there" in second
    assert LOOKUP.findall(second) == LOOKUP.findall(first)  # the same borrowers, the same data


def test_no_raw_identity_in_any_warehouse_column(demo_home):
    home, _ = demo_home
    script = textwrap.dedent(
        """
        import json, re, sys
        from runtime.config import load as load_settings
        from simulator import simulate
        from warehouse import connect
        from warehouse.settings import WarehouseSettings

        industry = simulate(members=8, borrowers=1500, months=6, seed=11)
        b = industry.borrowers
        ids = set(map(str, b.id_number)); names = set(map(str, b.name))
        mobiles = {str(m) for m in b.mobile if str(m)}
        s = load_settings()
        found, scanned = [], 0
        cjk = re.compile(r"[\\u4e00-\\u9fff]")
        digits = re.compile(r"[0-9Xx]{11,18}")
        cfg = s.section(WarehouseSettings)
        with connect(cfg.url, database=cfg.database) as wh:
            db = cfg.database
            tables = [
                r["table"] for r in wh.query("schema_tables", database=db).dicts()
                if "View" not in r["engine"]
            ]
            for t in tables:
                for col in wh.query("schema_columns", database=db, table=t).dicts():
                    if "String" not in col["type"]:
                        continue
                    for (v,) in wh.query("distinct_values", table=t, column=col["name"]).rows:
                        scanned += 1
                        text = v if isinstance(v, str) else " ".join(map(str, v))
                        if text in ids or text in names or text in mobiles or cjk.search(text):
                            found.append((t, col["name"], "raw"))
                        for m in digits.findall(text):
                            if m in ids or m in mobiles:
                                found.append((t, col["name"], "embedded"))
        printed = open(sys.argv[1], encoding="utf-8").read()  # the demo's own output
        found += [("stdout", "-", "raw") for i in ids if i in printed]
        print(json.dumps({"found": found[:5], "scanned": scanned, "ids": len(ids)}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env["JDX_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", script, str(home.parent / "demo-stdout.txt")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ids"] > 1000
    assert result["scanned"] > 10_000  # keys, hashes, account ids, consent refs …
    assert result["found"] == []
