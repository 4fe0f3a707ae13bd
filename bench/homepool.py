"""Borrowers for a kept bench home's batch jobs: a new slice on every run (issue 16).

``bench/lookups.py --home DIR`` keeps its warehouse between runs, and its single lookups use the
same borrowers (``people`` in ``DIR/built.json``) every run. A batch job of those borrowers on
every run meets the inquiries each earlier run logged for them: 45 jobs of the same 100k borrowers
left 4.5M inquiries that no nightly summary held, ~27 per borrower (docs/benchmarks.md), which is
not what a member's job meets, nor what the home's first run measured. So each batch job takes the
next ``n`` borrowers of a pool drawn once from the home's population (the simulator's, same seed),
none of them among ``people``; after :data:`POOL` borrowers the slices start over, and a slice
then meets the inquiries its earlier run logged.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

POOL = 1_000_000


def make_pool(home: Path, stream: Any, people: list[list[str]], seed: int) -> None:
    """Draw the pool from ``stream``'s borrowers (a ``simulator.simulate_stream``), leaving out
    ``people``; write it to ``home/batch_pool.json``."""
    from exchange.pseudonym import ID_TYPES

    taken = {tuple(p) for p in people}
    ids, types = stream.borrowers.id_number, stream.borrowers.id_type
    rng = random.Random(seed + 1)
    pool: list[tuple[str, str]] = []
    for i in rng.sample(range(len(ids)), min(len(ids), POOL + len(taken))):
        person = (ID_TYPES[types[i]], str(ids[i]))
        if person not in taken:
            pool.append(person)
        if len(pool) == POOL:
            break
    (home / "batch_pool.json").write_text(json.dumps(pool))


def next_batch(home: Path, n: int) -> tuple[int, list[list[str]]]:
    """The next ``n`` borrowers of the pool and where they start in it; the next call starts
    after them."""
    pool = json.loads((home / "batch_pool.json").read_text())
    at_file = home / "batch_pool.next"
    at = int(at_file.read_text()) if at_file.exists() else 0
    if at + n > len(pool):
        at = 0
    at_file.write_text(str(at + n))
    return at, pool[at : at + n]
