"""``[warehouse] memory_limit_mb`` and ``mark_cache_mb`` reach the embedded engine: chDB takes
them as server settings when it starts, and a query beyond the cap fails instead of growing the
process. The engine starts once per process, so the check runs in a fresh subprocess (a real
chDB directory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from warehouse_data import make_sql_overlay, using_sql_dir
from warehouse import WarehouseError, open_configured
from warehouse.settings import WarehouseSettings

base = Path(sys.argv[1])
queries = {
    "t_engine": "SELECT name, value FROM system.server_settings WHERE name IN "
    "('max_server_memory_usage', 'mark_cache_size', 'primary_index_cache_size', "
    "'index_mark_cache_size')",
    "t_big": "SELECT length(groupArray(number)) AS n FROM numbers(100000000)",
}
cfg = WarehouseSettings(memory_limit_mb=200, mark_cache_mb=16).resolved(base)
with using_sql_dir(make_sql_overlay(base, queries)), open_configured(cfg) as wh:
    out = {"settings": {r[0]: int(r[1]) for r in wh.query("t_engine")}}
    try:
        wh.query("t_big")
        out["big"] = "answered"
    except WarehouseError as exc:
        out["big"] = exc.server_name or str(exc)
print(json.dumps(out))
"""


def test_the_engine_takes_the_memory_cap_and_cache_sizes(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["settings"] == {
        "max_server_memory_usage": 200 * 2**20,
        "mark_cache_size": 16 * 2**20,
        "primary_index_cache_size": 16 * 2**20,
        "index_mark_cache_size": 16 * 2**20,
    }
    # 100M UInt64 in one array need ≈ 800 MB: beyond the cap, the engine refuses the query
    assert out["big"] == "MEMORY_LIMIT_EXCEEDED"


CLI_CHILD = r"""
import json, sys
import cli
from cli import _register
from warehouse import client

# the settings of the engine each warehouse the command opens runs on, read just before the
# command closes it (the engine restarts once every client is closed, so not afterwards)
seen = []
close = client.Warehouse.close

def observed_close(self):
    if not self._closed:
        seen.append({name: int(value) for name, value in self._client().query(
            "SELECT name, value FROM system.server_settings WHERE name IN "
            "('max_server_memory_usage', 'mark_cache_size')").result_rows})
    close(self)

client.Warehouse.close = observed_close
_register()
cli.cli.main(sys.argv[1:], standalone_mode=False)  # jdx init / jdx warehouse migrate, here
print(json.dumps(seen))
"""


def test_jdx_init_and_migrate_open_the_engine_with_the_caps(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env.update(JDX_HOME=str(tmp_path), JDX_WAREHOUSE_MEMORY_LIMIT_MB="300",
               JDX_WAREHOUSE_MARK_CACHE_MB="24")  # fmt: skip
    for command in (["init"], ["warehouse", "migrate"]):
        done = subprocess.run(
            [sys.executable, "-c", CLI_CHILD, *command], env=env, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        seen = json.loads(done.stdout.strip().splitlines()[-1])
        assert seen, command  # the command opened (and closed) the warehouse
        caps = {"max_server_memory_usage": 300 * 2**20, "mark_cache_size": 24 * 2**20}
        assert all(engine == caps for engine in seen), (command, seen)
