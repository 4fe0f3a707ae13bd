"""Who may open an embedded chDB data directory, checked before chDB is asked.

chDB is ClickHouse inside this process. Measured facts (docs/design.md, DOMAIN.md §7):

* **One process owns a directory.** The engine holds ``<dir>/status`` locked with ``flock`` and
  writes its pid there; a second process cannot open the directory at all, not even read-only.
* **One directory per process.** While any client of one directory is open, opening another
  directory fails; once every client is closed the engine may start again on another directory.
* Within the owning process any number of clients may share the engine.

So this module keeps a per-process count of open :class:`~warehouse.client.Warehouse` objects per
directory: a second ``connect()`` to the same directory shares the engine, one to another directory
fails with :class:`EmbeddedPathConflict`, and a directory locked by another process fails with
:class:`WarehouseLocked` naming that process's pid, before chDB prints its own error.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from pathlib import Path

from warehouse.errors import EmbeddedPathConflict, WarehouseLocked

_registry_lock = threading.Lock()
_open_count: dict[Path, int] = {}


def acquire(path: Path) -> None:
    """Record that this process opens ``path``; refuse if chDB would refuse (see module doc)."""
    with _registry_lock:
        for other, count in _open_count.items():
            if count > 0 and other != path:
                raise path_conflict(path, other)
        if _open_count.get(path, 0) == 0:
            pid = foreign_owner(path)
            if pid is not None:
                raise locked(path, pid)
        _open_count[path] = _open_count.get(path, 0) + 1


def release(path: Path) -> None:
    """Record that one :class:`~warehouse.client.Warehouse` on ``path`` was closed."""
    with _registry_lock:
        count = _open_count.get(path, 0) - 1
        if count > 0:
            _open_count[path] = count
        else:
            _open_count.pop(path, None)


def open_paths() -> list[Path]:
    """Directories this process has open through :func:`warehouse.connect` (for diagnostics)."""
    with _registry_lock:
        return [p for p, n in _open_count.items() if n > 0]


def foreign_owner(path: Path) -> str | None:
    """The pid (as text, ``"unknown"`` if unreadable) of another process holding ``path``.

    ``None`` when the directory is free, does not exist yet, or the holder is this process.
    """
    status = path / "status"
    try:
        fd = os.open(status, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # no status file: nobody runs there (or we cannot tell; chDB will say)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = status_pid(path)
            if pid == str(os.getpid()):
                return None
            return pid or "unknown"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def status_pid(path: Path) -> str | None:
    """The ``PID:`` line of ``<path>/status`` if readable."""
    try:
        text = (path / "status").read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r"^PID:\s*(\d+)", text, re.M)
    return match.group(1) if match else None


def locked(path: Path, pid: str) -> WarehouseLocked:
    shown = f"pid {pid} from {path / 'status'}" if pid != "unknown" else "pid unknown"
    return WarehouseLocked(
        f"warehouse {path} is owned by another process ({shown}); in the embedded setup one "
        "service owns it: stop it or point JDX_WAREHOUSE_DSN at a ClickHouse server"
    )


def path_conflict(path: Path, other: Path) -> EmbeddedPathConflict:
    return EmbeddedPathConflict(
        f"cannot open embedded warehouse {path}: this process already has {other} open and chDB "
        "can open only one data directory per process; close that warehouse first, run the work "
        "in a separate process, or use a ClickHouse server DSN"
    )
