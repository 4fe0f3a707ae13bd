"""The benches' own named queries: the warehouse's SQL files served from a copy that adds them
(``warehouse.sqlfiles`` reads the copy from then on, in this process)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path


def serve_with(dest: Path, queries: Mapping[str, str]) -> Path:
    """Copy the ``sql`` directory to ``dest/sql``, add ``queries`` (name → SQL) as named queries
    and serve SQL files from the copy; return it."""
    from warehouse import sqlfiles

    root = dest / "sql"
    source = Path(sqlfiles.sql_root())  # type: ignore[arg-type]
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__"))
    for name, sql in queries.items():
        (root / "queries" / f"{name}.sql").write_text(f"-- {name}: bench\n{sql}\n")
    sqlfiles.sql_root = lambda: root  # type: ignore[assignment,return-value]
    sqlfiles.read_bytes.cache_clear()
    sqlfiles.named_query.cache_clear()
    return root
