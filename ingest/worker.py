"""Validation of a member's file in a child process with a memory bound.

Parsing and validating a file costs memory in proportion to what the member sent. In the
process that serves everybody (``jdx serve``: SFTP, loader, API), one hostile or careless file
could take all of it and the kernel would stop the whole exchange. So the loader's
:class:`IsolatedValidator` hands each file to a child process (``python -m ingest.worker``) and
watches it:

* the child reads the data file itself and runs :func:`ingest.validate.validate_submission`,
  with its records' own rules and keyed hashes in ``processes`` parts forked from it once the
  file is parsed (:mod:`ingest.parts`: a big file's validation on the cores that would idle);
  whatever grows with the file — the validated rows (hundreds of MB for a big file) with their
  masked identities, and the issues (a file of faulty records has millions) — comes back as
  Arrow IPC files beside the data file, which the parent memory-maps and unlinks at once: they
  sit in the page cache, not in the serving process's own heap, and need no pickled copy on
  either side; the rest of the :class:`~ingest.validate.Validation` comes over the pipe;
* its resident memory, with its forked parts' own pages (:func:`tree_bytes`), is read from
  ``/proc`` every 20 ms; above ``memory_mb`` the child (and with it its parts) is
  killed and the file answered F120 (:class:`MemoryLimit`, terminal: the same file would do it
  again); a child that dies otherwise or outlives ``timeout`` raises :class:`ValidatorFailed`
  (counted by the loader's attempts, :mod:`ingest.loader`);
* a child is reused for the next file, and replaced after a file that grew it beyond a quarter
  of ``memory_mb`` (so an idle exchange does not keep a big child's memory); the pepper reaches
  it over the pipe, never through its command line or environment;
* a child imports the validation and builds its region table as it starts, before it is asked
  anything, and the replacement of a big child is started at once: it gets ready while the
  parent loads the file just validated, so the next file does not wait for a new interpreter
  (≈ 0.36 s: a 2,000-record file took 375 ms in a new child, 16 ms in a ready one);
* a stop request (``stopping``) kills the child and raises :class:`ingest.store.Abandoned`: the
  claim is resumed at the next start, as for any interrupted load.

:class:`InProcessValidator` is the same interface without the child (tools and tests that
validate trusted files).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.ipc as ipc

from exchange.pseudonym import Pseudonymiser
from ingest.errors import MemoryLimit, ValidatorFailed
from ingest.parts import MIN_PART_ROWS

POLL = 0.02
_PAGE = os.sysconf("SC_PAGE_SIZE")
#: the child's validated rows and their masked identities, and its issues, beside the data file
#: in the claim (unlinked by the parent at once)
ROWS_FILE = ".validated-rows.arrow"
ISSUES_FILE = ".validated-issues.arrow"
_MASKED = "masked:"  # prefix of the masked identity columns in the rows file


@dataclass(frozen=True)
class Request:
    """What a validator needs to validate one submission."""

    data_name: str
    data_path: str
    control: bytes
    uploader: str
    sha256: str
    max_bytes: int
    #: processes the record rules and hashes may use (:mod:`ingest.parts`; set by
    #: :class:`IsolatedValidator`: only its child process may fork)
    processes: int = 1
    min_part_rows: int = MIN_PART_ROWS

    @property
    def rows_path(self) -> Path:
        return Path(self.data_path).with_name(ROWS_FILE)

    @property
    def issues_path(self) -> Path:
        return Path(self.data_path).with_name(ISSUES_FILE)


def write_rows(path: Path, rows: pa.Table) -> None:
    """``rows`` as an uncompressed Arrow IPC file (mapped by the reader without a copy)."""
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, rows.schema) as writer:
        writer.write_table(rows, max_chunksize=1 << 16)


def map_rows(path: Path) -> pa.Table:
    """The rows :func:`write_rows` wrote, memory-mapped; the file is unlinked (the mapping stays
    valid until the table is dropped, then the kernel frees it)."""
    try:
        return ipc.open_file(pa.memory_map(str(path))).read_all()
    finally:
        path.unlink(missing_ok=True)


def send_back(request: Request, result: Any) -> Any:
    """The child's side: write what grows with the file (rows with their masked identities,
    issues) beside the data file; return the rest of ``result`` for the pipe."""
    masked = result.masked_identity
    rows = result.rows
    for name in masked.column_names:
        rows = rows.append_column(_MASKED + name, masked.column(name))
    write_rows(request.rows_path, rows)
    write_rows(request.issues_path, result.issue_table)
    return dataclasses.replace(
        result,
        rows=result.rows.schema.empty_table(),
        issue_table=result.issue_table.schema.empty_table(),
        masked_identity=masked.schema.empty_table(),
    )


def take_back(request: Request, result: Any) -> Any:
    """The parent's side of :func:`send_back`: ``result`` with the mapped files put back."""
    rows = map_rows(request.rows_path)
    issues = map_rows(request.issues_path)
    masked = [n for n in rows.column_names if n.startswith(_MASKED)]
    return dataclasses.replace(
        result,
        rows=rows.drop_columns(masked),
        issue_table=issues,
        masked_identity=pa.table({n.removeprefix(_MASKED): rows.column(n) for n in masked}),
    )


class Validator(Protocol):
    def validate(self, request: Request, stopping: threading.Event) -> Any: ...

    def close(self) -> None: ...


class InProcessValidator:
    """Validation in the calling process (no memory bound)."""

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        self.pseudonymiser = pseudonymiser

    def validate(self, request: Request, stopping: threading.Event) -> Any:
        return _validate(dataclasses.replace(request, processes=1), self.pseudonymiser)

    def close(self) -> None:
        pass


def _validate(request: Request, pseudonymiser: Pseudonymiser) -> Any:
    from ingest.validate import validate_submission

    data = Path(request.data_path).read_bytes()
    return validate_submission(
        request.data_name,
        data,
        request.control,
        uploader=request.uploader,
        pseudonymiser=pseudonymiser,
        sha256=request.sha256,
        max_bytes=request.max_bytes,
        processes=request.processes,
        min_part_rows=request.min_part_rows,
        part_dir=str(Path(request.data_path).parent),  # the claim, beside the data file
    )


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _private_bytes(pid: int) -> int:
    """Pages of process ``pid`` not shared with another (0 when it is gone): what a forked
    child costs beyond its parent."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith((b"Private_Clean:", b"Private_Dirty:")):
                    total += int(line.split()[1]) << 10
    except (OSError, IndexError, ValueError):
        return 0
    return total


def tree_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` and the private pages of its children (the parts of a
    file it validates in forked processes, :mod:`ingest.parts`)."""
    total = rss_bytes(pid)
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as f:
            children = [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        children = []
    return total + sum(_private_bytes(c) for c in children)


class _Child:
    def __init__(self, pepper: bytes) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.worker", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            close_fds=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.send = Connection(to_child_w, readable=False)
        self.recv = Connection(from_child_r, writable=False)
        self.send.send(("pepper", pepper))

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for conn in (self.send, self.recv):
            with contextlib.suppress(OSError):
                conn.close()


class IsolatedValidator:
    """Validation in a watched child process, one child per calling thread (see the module doc)."""

    def __init__(
        self,
        pepper: bytes,
        *,
        memory_mb: int,
        processes: int = 1,
        min_part_rows: int = MIN_PART_ROWS,
        timeout: float = 3600.0,
    ) -> None:
        self._pepper = pepper
        self.memory_mb = memory_mb
        self.processes = max(1, processes)
        self.min_part_rows = min_part_rows
        self.timeout = timeout
        self._local = threading.local()
        self._children: set[_Child] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"IsolatedValidator(memory_mb={self.memory_mb}, processes={self.processes}, pepper=***)"
        )

    def _child(self) -> _Child:
        child: _Child | None = getattr(self._local, "child", None)
        if child is None or child.proc.poll() is not None:
            if child is not None:
                self._drop(child)
            child = _Child(self._pepper)
            self._local.child = child
            with self._lock:
                self._children.add(child)
        return child

    def _drop(self, child: _Child) -> None:
        child.kill()
        with self._lock:
            self._children.discard(child)
        if getattr(self._local, "child", None) is child:
            self._local.child = None

    def validate(self, request: Request, stopping: threading.Event) -> Any:
        from ingest.store import Abandoned

        try:
            return self._validate(request, stopping, Abandoned)
        except BaseException:
            request.rows_path.unlink(missing_ok=True)
            request.issues_path.unlink(missing_ok=True)
            raise

    def _validate(self, request: Request, stopping: threading.Event, abandoned: type) -> Any:
        child = self._child()
        limit = self.memory_mb << 20
        try:
            parted = dataclasses.replace(
                request, processes=self.processes, min_part_rows=self.min_part_rows
            )
            child.send.send(("validate", parted))
        except OSError as exc:
            self._drop(child)
            raise ValidatorFailed(f"the validation process could not be reached ({exc})") from None
        started, peak = time.monotonic(), 0
        while True:
            try:
                ready = child.recv.poll(POLL)
            except OSError:
                ready = False
            if ready:
                try:
                    kind, payload = child.recv.recv()
                except (EOFError, OSError):
                    kind, payload = "died", None
                break
            peak = max(peak, tree_bytes(child.proc.pid))
            if peak > limit:
                self._drop(child)
                raise MemoryLimit(
                    f"validating {request.data_name} needed more than {self.memory_mb} MiB",
                    peak_mb=peak / 2**20,
                    limit_mb=self.memory_mb,
                )
            if stopping.is_set():
                self._drop(child)
                raise abandoned
            if child.proc.poll() is not None:
                kind, payload = "died", None
                break
            if time.monotonic() - started > self.timeout:
                self._drop(child)
                raise ValidatorFailed(f"validation took longer than {self.timeout:g} s")
        if kind == "ok":
            if rss_bytes(child.proc.pid) > limit // 4:
                self._drop(child)  # give a big child's memory back
                with contextlib.suppress(OSError):  # else the next file starts one
                    self._child()  # and start the next file's: it gets ready meanwhile
            return take_back(request, payload)
        code = child.proc.poll()
        self._drop(child)
        if kind == "memory":
            raise MemoryLimit(
                f"validating {request.data_name} ran out of memory",
                peak_mb=peak / 2**20,
                limit_mb=self.memory_mb,
            )
        if kind == "died":
            raise ValidatorFailed(f"the validation process ended (exit status {code})")
        raise ValidatorFailed(f"validation failed ({payload})")

    def close(self) -> None:
        with self._lock:
            children = list(self._children)
            self._children.clear()
        for child in children:
            child.kill()


def main(argv: list[str]) -> None:
    """The child: validate requests from the parent until its pipe closes."""
    incoming = Connection(int(argv[0]), writable=False)
    outgoing = Connection(int(argv[1]), readable=False)
    import ingest.validate  # noqa: F401  ready before the first file, not while it waits
    from exchange.regions import listed_codes

    listed_codes()
    pseudonymiser: Pseudonymiser | None = None
    while True:
        try:
            kind, payload = incoming.recv()
        except (EOFError, OSError):
            return
        if kind == "pepper":
            pseudonymiser = Pseudonymiser(payload)
            continue
        assert pseudonymiser is not None
        try:
            result = send_back(payload, _validate(payload, pseudonymiser))
        except MemoryError:
            outgoing.send(("memory", None))
            continue
        except Exception as exc:  # the parent decides; only the class name, never data
            outgoing.send(("error", type(exc).__name__))
            continue
        outgoing.send(("ok", result))
        del result


if __name__ == "__main__":
    main(sys.argv[1:])
