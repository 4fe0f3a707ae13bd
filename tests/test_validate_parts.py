"""A file validated in several processes (ingest.parts) gives exactly what one process gives.

* mutated files (random faults in any field, shuffled columns, CRLF, gzip, duplicates across the
  parts' boundaries, history and other members' data) validated in 1 and in 3 processes: the
  same rows, issues in the same order, the same masks;
* through the loader's real validation child (``python -m ingest.worker``) with 2 processes, and
  a big child's replacement started at once for the next file;
* a part's process that fails or runs out of memory fails the validation; one whose parent is
  killed dies with it; the memory watch counts a forked part's own pages.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from loanfiles import FILE_NAME, MEMBER, PEPPER, PSEUDONYMISER, control_for, csv_bytes, record
from test_validate_property import FAST, OTHERS, _history, mutated_files

from ingest import parts
from ingest.validate import Validation, validate_submission
from ingest.worker import InProcessValidator, IsolatedValidator, Request, rss_bytes, tree_bytes


def same(one: Validation, many: Validation) -> None:
    assert many.rows.equals(one.rows)
    assert many.issue_table.equals(one.issue_table)
    assert many.masked_identity.equals(one.masked_identity)
    assert (many.records, many.status, many.accepted_count) == (
        one.records,
        one.status,
        one.accepted_count,
    )


@pytest.mark.slow
@settings(FAST, max_examples=40)
@given(mutated_files())
def test_three_processes_find_what_one_finds(case):
    records, columns, _, crlf, compressed = case
    # the first account again at the end: a W401 pair across the parts
    records = [*records, dict(records[0])]
    data = csv_bytes(records, columns, crlf=crlf)
    name = FILE_NAME + (".gz" if compressed else "")
    if compressed:
        data = gzip.compress(data, mtime=0)
    control = control_for(name, data, len(records))

    def validate(processes: int) -> Validation:
        return validate_submission(
            name,
            data,
            control,
            uploader=MEMBER,
            pseudonymiser=PSEUDONYMISER,
            history=_history(len(records)),
            other_members=OTHERS,
            processes=processes,
            min_part_rows=7,
        )

    same(validate(1), validate(3))


def test_plan_keeps_parts_above_the_minimum() -> None:
    assert parts.plan(250_000, 2) == [(0, 125_000), (125_000, 250_000)]
    assert parts.plan(150_000, 4) == [(0, 150_000)]  # two parts would be under 100k each
    assert parts.plan(10, 3, min_rows=3) == [(0, 3), (3, 6), (6, 10)]
    assert parts.plan(0, 2) == [(0, 0)]


def big_file(tmp_path: Path, n: int = 3000) -> Request:
    faults = {7: {"dpd": "x"}, 1500: {"currency": "XXX"}, 2999: {"id_number": "123"}}
    records = [
        record(account_id=f"L-{i:05d}", **faults.get(i, {}), mobile=f"138{i:08d}") for i in range(n)
    ]
    records[1501] = dict(records[3])  # a duplicate across the two parts
    data = csv_bytes(records)
    path = tmp_path / FILE_NAME
    path.write_bytes(data)

    return Request(
        FILE_NAME,
        str(path),
        control_for(FILE_NAME, data, n),
        MEMBER,
        hashlib.sha256(data).hexdigest(),
        1 << 30,
    )


def test_the_validation_child_splits_a_file_into_processes(tmp_path: Path) -> None:
    request = big_file(tmp_path)
    one = InProcessValidator(PSEUDONYMISER).validate(request, threading.Event())
    validator = IsolatedValidator(PEPPER, memory_mb=2048, processes=2, min_part_rows=500)
    try:
        many = validator.validate(request, threading.Event())
    finally:
        validator.close()
    same(one, many)
    assert "W401" in one.counts and one.rejected >= 3  # the faults were found
    # the parts' files were unnamed, in the claim: nothing is left beside the data file
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]


def test_a_big_childs_replacement_starts_at_once_and_takes_the_next_file(tmp_path: Path) -> None:
    """A child that a file grew beyond a quarter of ``memory_mb`` is replaced as soon as the file
    is answered, not when the next file comes: the new child gets ready while the loader loads
    the file just validated, and validates the next one. (Every child counts as big here: 400
    MiB / 4 is less than a child's resident memory after a file.)"""
    request = big_file(tmp_path)
    validator = IsolatedValidator(PEPPER, memory_mb=400, processes=1)

    def alive() -> list[int]:
        return [c.proc.pid for c in validator._children if c.proc.poll() is None]

    try:
        first = validator.validate(request, threading.Event())
        [waiting] = alive()  # the replacement, started before any next file
        again = validator.validate(request, threading.Event())
        [after] = alive()
        assert after != waiting  # ``waiting`` validated the second file, then was replaced too
        with pytest.raises(ProcessLookupError):
            os.kill(waiting, 0)
    finally:
        validator.close()
    same(first, again)
    assert alive() == []


def test_a_failed_part_fails_the_validation() -> None:
    def check(start: int, stop: int) -> parts.Part:
        if start > 0:
            raise ValueError("a bug in a rule")
        time.sleep(0.2)
        return validate_rows(start, stop)

    with pytest.raises(parts.PartFailed):
        parts.in_parts(check, [(0, 1), (1, 2)])

    def hungry(start: int, stop: int) -> parts.Part:
        if start > 0:
            raise MemoryError
        return validate_rows(start, stop)

    with pytest.raises(MemoryError):
        parts.in_parts(hungry, [(0, 1), (1, 2)])


def validate_rows(start: int, stop: int) -> parts.Part:
    from ingest.issues import INTERNAL_SCHEMA
    from ingest.validate import MASKED_SCHEMA, ROW_SCHEMA

    return ROW_SCHEMA.empty_table(), INTERNAL_SCHEMA.empty_table(), MASKED_SCHEMA.empty_table()


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_parts_die_with_the_validation_process() -> None:
    script = textwrap.dedent(
        """
        import time
        from ingest import parts
        def check(start, stop):
            time.sleep(600)
        parts.in_parts(check, [(0, 1), (1, 2), (2, 3)])
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 2:
            assert time.monotonic() < deadline, "the parts were not forked"
            time.sleep(0.05)
        forked = _children(proc.pid)
    finally:
        proc.kill()  # as the loader kills its validation child (memory bound, stop)
        proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in forked):
        assert time.monotonic() < deadline, "a part outlived its parent"
        time.sleep(0.05)


def test_memory_watch_counts_a_forked_parts_own_pages() -> None:
    script = textwrap.dedent(
        """
        import os, sys, time
        if os.fork() == 0:
            hog = bytearray(os.urandom(1 << 20)) * 200
            print("ready", flush=True)
            time.sleep(600)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        assert tree_bytes(proc.pid) - rss_bytes(proc.pid) > 150 << 20
    finally:
        for child in _children(proc.pid):
            os.kill(child, signal.SIGKILL)
        proc.kill()
        proc.wait()
