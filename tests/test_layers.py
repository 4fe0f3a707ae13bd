"""The layer contract (pyproject.toml ``[tool.importlinter]``, docs/design.md):
cli > runtime > dashboards > products | reports | sandbox | simulator > ingest > warehouse >
core, and dashboards never reaching products, sandbox, simulator, ingest or the warehouse. CI
runs ``lint-imports``; here the contracts are shown to hold on the tree and to fail when a lower
layer imports a higher one, or the dashboards the warehouse (in a copy of the packages)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = str(Path(sys.executable).with_name("lint-imports"))


def _copy(tmp: Path) -> Path:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for package in config["root_packages"]:
        shutil.copytree(ROOT / package, tmp / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT, "--no-cache"], cwd=where, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_the_tree_keeps_the_layers(tmp_path: Path) -> None:
    done = _lint(_copy(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    with (tree / "warehouse" / "__init__.py").open("a") as f:
        f.write("\nimport products.billing  # the warehouse reaching up into a product\n")
    done = _lint(tree)
    assert done.returncode == 1, done.stdout
    assert "BROKEN" in done.stdout and "warehouse -> products.billing" in done.stdout


def test_dashboards_reaching_the_warehouse_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    with (tree / "dashboards" / "__init__.py").open("a") as f:
        f.write("\nimport warehouse  # the public pages opening the warehouse\n")
    done = _lint(tree)
    assert done.returncode == 1, done.stdout
    assert "BROKEN" in done.stdout and "dashboards -> warehouse" in done.stdout
