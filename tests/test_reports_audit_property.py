"""The attacker's audit as a property: random small industries, three consecutive releases.

For each random industry (a few lenders, a few products and provinces, passport holders without
province or birth year, accounts that move between dpd buckets and close), three month ends are
loaded into a fresh chDB database and released one after the other as ``reports.release.build``
does it — statistics, disclosure control with the decisions of the earlier releases
(``reports.history``, read from the CSV files written so far), publication, CSV files (no
rendering). Then, for every release:

* an independent audit of the final suppression pattern — every hidden quantity's feasible
  interval computed again by linear programming over everything the release publishes and
  everything earlier releases printed identically — finds none narrower than its protection
  interval (±10 % of the value and ±20 % of its top contributor's part);
* nothing an earlier release hid is printed by a later one (read from the CSV files).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from release_data import month_end
from warehouse_data import key, loan_state, loan_states_table

from reports import history
from reports.disclosure import PUBLISHED, Rule, protect, relations_of
from reports.publication import publish
from reports.render.csvfiles import read_csv, write_tables
from reports.statistics import compute
from warehouse import Warehouse, connect, migrate

pytest_plugins = ["warehouse_fixtures"]  # wh
pytestmark = pytest.mark.slow  # some 2,500 linear programmes

MONTHS = (3, 4, 5)
YEAR = 2025


def industry(rng: random.Random) -> list[dict[str, Any]]:
    """A random book over :data:`MONTHS`: every account keeps its attributes and walks its dpd."""
    members = [f"P{i:02d}" for i in range(rng.randint(5, 8))]
    out: list[dict[str, Any]] = []
    for i, member in enumerate(members):
        for n in range(rng.randint(4, 14)):
            passport = rng.random() < 0.15
            product = rng.choice(("CASH", "INSTALLMENT", "AUTO"))
            province = "" if passport else rng.choice(("11", "31", "44"))
            born = 0 if passport else rng.choice((1965, 1985, 1995, 2002))
            dpd = rng.choice((0, 0, 0, 0, 10, 40, 100))
            closed_in = rng.choice((None, None, None, MONTHS[1], MONTHS[2]))
            account = f"{member}-{n:02d}"
            for month in MONTHS:
                status = "OVERDUE" if dpd else "NORMAL"
                if closed_in is not None and month >= closed_in:
                    status, dpd = "CLOSED", 0
                out.append(
                    loan_state(
                        member_code=member,
                        member_type=("MICROLOAN", "BANK")[i % 2],
                        account_id=account,
                        as_of_date=month_end(YEAR, month),
                        borrower_key=key(f"prop-{account}"),
                        id_type="PASSPORT" if passport else "RIC",
                        province=province,
                        birth_year=born,
                        product=product,
                        opened_date=dt.date(YEAR - 1, 1, 1),
                        credit_amount=Decimal(rng.choice((3_000, 15_000, 60_000))),
                        balance=Decimal(0 if status == "CLOSED" else rng.randint(500, 9_000)),
                        overdue_amount=Decimal("100.00") if dpd else Decimal("0.00"),
                        dpd=dpd,
                        status=status,
                        closed_date=month_end(YEAR, month) if status == "CLOSED" else None,
                        load_id=f"PROP-{month}",
                        load_seq=month,
                    )
                )
                if status == "CLOSED":
                    break
                dpd = rng.choice((0, dpd, dpd + 30 if dpd else 10)) if dpd < 150 else dpd + 30
    return out


@contextmanager
def database(wh: Warehouse) -> Iterator[Warehouse]:
    name = f"p_{uuid.uuid4().hex[:12]}"
    with connect(f"chdb://{wh.path}", database=name) as db:
        migrate(db)
        yield db
        db.command("DROP DATABASE IF EXISTS {db:Identifier}", db=name)


def hidden_then_shown(folders: list[tuple[str, Path]]) -> list[tuple[str, str, str]]:
    """(earlier release, later release, row) for every headline, flow or multi-borrowing row a
    later release prints although an earlier one hid it."""
    seen: list[tuple[str, dict[str, bool]]] = []
    for month, folder in folders:
        shown: dict[str, bool] = {}
        for table, keys in (("headline", ("month",)), ("flows", ("month", "kind"))):
            for r in read_csv(folder / "tables" / f"{table}.csv"):
                shown["|".join([table, *(r[k] for k in keys)])] = not r["flag"]
        seen.append((month, shown))
    return [
        (first, later, q)
        for i, (first, before) in enumerate(seen)
        for later, after in seen[i + 1 :]
        for q, ok in after.items()
        if ok and before.get(q) is False
    ]


def test_three_releases_of_random_industries_pass_an_independent_audit(
    wh: Warehouse, tmp_path: Path
) -> None:
    rule = Rule()
    hidden_total = 0
    for seed in range(2):
        rng = random.Random(1200 + seed)
        folders: list[tuple[str, Path]] = []
        with database(wh) as db:
            db.insert_arrow("loan_states", loan_states_table(industry(rng)))
            for month in MONTHS:
                stats = compute(db, dt.date(YEAR, month, 1))
                earlier = history.load(folders)
                protection = protect(stats, rule, earlier)
                folder = tmp_path / str(seed) / stats.key / "v1"
                write_tables(publish(stats, protection), folder / "tables", 2, [])
                folders.append((stats.key, folder))
                # the independent audit: every interval computed again for the final pattern
                cells = stats.by_id()
                known = frozenset(
                    cid
                    for cid, cell in cells.items()
                    if earlier.known(history.quantity_id(cell, stats.key), cell)
                )
                auditor = rule.auditor(relations_of(stats), cells, known)
                status = {c: s for c, s in protection.status.items() if c not in known}
                result = auditor.audit(status)
                hidden = [c for c, s in status.items() if s != PUBLISHED]
                hidden_total += len(hidden)
                assert result.passed, (seed, stats.key, result.failures[:3])
        assert hidden_then_shown(folders) == [], seed
    assert hidden_total > 0  # the premise: the rule hides cells in these industries
