"""A file's record rules and keyed hashes over several processes (cores that would stay idle).

:func:`ingest.validate.validate_records` checks every record on its own (field and cross-field
rules, the HMACs of its identity, name and mobile, the masks of its identity); only the
duplicate check (W401) looks across records. So the parsed columns can be cut into contiguous
parts of rows, each part checked by its own process, and the results put back in file order:
rows, their masks and their issues are exactly those one process finds (``tests/
test_validate_parts.py`` compares them on files with faults of every kind).

:func:`in_parts` forks ``processes - 1`` children from the calling process once the file is
parsed — they share its columns copy-on-write, nothing is sent to them — and checks the first part
itself meanwhile. Each child writes its part's rows (with the masks) and issues as Arrow IPC into
an unnamed temporary file the caller maps back (page cache, not heap; gone with the mapping), in
the directory the caller names — the validation child names the file's claim, on the disk the
data file is on, not a temporary directory that may be memory.

Invariants:

* Only the validation child process forks (:mod:`ingest.worker` passes ``processes``); the
  serving process, with its threads and embedded engine, never does (``InProcessValidator``
  validates with one process).
* A child dies with its parent (``PR_SET_PDEATHSIG``): the loader killing the validation child
  (memory bound, stop request) takes its parts down too. The loader's memory watch counts the
  children's own pages (:func:`ingest.worker.tree_bytes`).
* A child out of memory makes the caller raise :class:`MemoryError`; any other failure of a
  child raises :class:`PartFailed` (the file is retried like any failure on the exchange's side).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import mmap
import os
import signal
import tempfile
from collections.abc import Callable
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

#: Fewest rows per part: below it a process costs more than it saves.
MIN_PART_ROWS = 100_000
_MASKED = "masked:"
_OUT_OF_MEMORY = 3
_PR_SET_PDEATHSIG = 1

#: One part's outcome: typed rows, its issues (INTERNAL_SCHEMA, rows numbered within the part)
#: and its masked identities.
Part = tuple[pa.Table, pa.Table, pa.Table]
Checker = Callable[[int, int], Part]


class PartFailed(Exception):
    """A process checking part of a file failed (not the member's doing)."""


def plan(rows: int, processes: int, min_rows: int = MIN_PART_ROWS) -> list[tuple[int, int]]:
    """``(start, stop)`` of each part: at most ``processes`` parts of at least ``min_rows``."""
    count = max(1, min(processes, rows // max(1, min_rows)))
    edges = [rows * i // count for i in range(count + 1)]
    return list(itertools.pairwise(edges))


def in_parts(
    check: Checker, parts: list[tuple[int, int]], directory: str | None = None
) -> list[Part]:
    """``check(start, stop)`` of every part, the first in this process and the others in forked
    children, in part order; each part's ``row`` numbers are shifted to the file's. The
    children's unnamed files are made in ``directory`` (default: the system's temporary one)."""
    if len(parts) == 1:
        return [check(*parts[0])]
    children: list[tuple[int, IO[bytes], IO[bytes]]] = []
    with contextlib.ExitStack() as files:
        try:
            for start, stop in parts[1:]:
                rows_out: IO[bytes] = files.enter_context(tempfile.TemporaryFile(dir=directory))
                issues_out: IO[bytes] = files.enter_context(tempfile.TemporaryFile(dir=directory))
                pid = _fork(check, start, stop, rows_out, issues_out)
                children.append((pid, rows_out, issues_out))
            results = [check(*parts[0])]
            for start, _ in parts[1:]:
                pid, rows_out, issues_out = children[0]
                children.pop(0)  # reaped by _wait, even when it raises
                _wait(pid)
                results.append(_shifted(_read_part(rows_out, issues_out), start))
            return results
        finally:
            for pid, _, _ in children:  # this process failed first: stop the others
                with contextlib.suppress(ProcessLookupError, ChildProcessError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)


def _fork(check: Checker, start: int, stop: int, rows_out: IO[bytes], issues_out: IO[bytes]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:  # the child: never returns into the caller's code
        _die_with(parent)
        rows, issues, masked = check(start, stop)
        for name in masked.column_names:
            rows = rows.append_column(_MASKED + name, masked.column(name))
        _write(rows_out, rows)
        _write(issues_out, issues)
        code = 0
    except MemoryError:
        code = _OUT_OF_MEMORY
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the death signal was set
        os._exit(1)


def _write(out: IO[bytes], table: pa.Table) -> None:
    sink = pa.PythonFile(out, mode="w")
    with ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=1 << 16)
    out.flush()


def _wait(pid: int) -> None:
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == _OUT_OF_MEMORY:
        raise MemoryError("a validation part ran out of memory")
    if code != 0:
        raise PartFailed(f"a validation part ended with status {code}")


def _read_part(rows_out: IO[bytes], issues_out: IO[bytes]) -> Part:
    rows = _mapped(rows_out)
    issues = _mapped(issues_out)
    masked = [n for n in rows.column_names if n.startswith(_MASKED)]
    return (
        rows.drop_columns(masked),
        issues,
        pa.table({n.removeprefix(_MASKED): rows.column(n) for n in masked}),
    )


def _mapped(out: IO[bytes]) -> pa.Table:
    mapped = mmap.mmap(out.fileno(), 0, access=mmap.ACCESS_READ)
    return ipc.open_file(pa.BufferReader(pa.py_buffer(mapped))).read_all()


def _shifted(part: Part, start: int) -> Part:
    """``part`` with its rows numbered from ``start`` (issues of no row keep -1)."""
    rows, issues, masked = part
    if start == 0:
        return part
    i = rows.schema.get_field_index("row")
    rows = rows.set_column(i, rows.schema.field(i), pc.add(rows.column("row"), np.int64(start)))
    j = issues.schema.get_field_index("row")
    numbers = issues.column("row")
    shifted = pc.if_else(pc.less(numbers, 0), numbers, pc.add(numbers, np.int64(start)))
    issues = issues.set_column(j, issues.schema.field(j), shifted)
    return rows, issues, masked
