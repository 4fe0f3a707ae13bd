"""Earlier releases' figures about earlier months, in this release's relation model.

A release models the release month's book by base cells and every earlier month of its series by
the transitions out of it (:mod:`reports.relations`). Earlier releases printed — or hid — figures
about those earlier months in tables this release does not repeat: the dpd buckets, the roll-rate
matrix and the segments of *their* release month. They are written here as sums of the same
variables, so the attacker's audit of this release reads them too:

* ``buckets|YM|b`` (the book of month YM in bucket b) = the transitions out of YM from b;
* ``rollrates|a|b@YM`` (accounts from bucket a to state b into YM) = that transition;
* ``segments|dim|value@YM`` = variables per (dimension value, bucket) of month YM, each dimension
  a partition of YM's book bucket by bucket (this release does not know which province × age
  combinations held accounts in YM, so those two are partitions of their own too).

A printed figure enters as a known constraint when it is still the figure of today's data (a
bucket or roll-rate figure equal to today's transitions; a month's segments while every headline
printed for that month equals today's: a revised month's old figures describe other data and are
left out). A bucket or roll-rate figure an earlier release hid is audited like this release's
hidden figures, with its value from today's transitions: a later release may not narrow it below
its protection interval (secondary suppression hides more of this release, or the build stops
with REP006). Hidden segments of earlier months are unknowns of the model, not audited here
(their values would need the month's segments again; their own release audited them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from reports.cells import Builder, Cell
from reports.history import Earlier, Figures
from reports.labels import BUCKETS, STATES
from reports.months import add_months, month_key
from reports.relations import Combo, Relations
from reports.statistics import Statistics

#: the table name of the cells added here (cell id ``earlier|<quantity id>``)
TABLE = "earlier"
#: the figures of a segment (as reports.history reads them) and the dpd buckets each sums over
_SEGMENT_FIELDS = {
    "open_accounts": ("accounts", range(6)),
    "open_balance": ("balance", range(6)),
    "accounts_30": ("accounts", range(2, 6)),
    "accounts_90": ("accounts", range(4, 6)),
}


@dataclass
class CrossRelease:
    """The cells of earlier releases added to one release's model."""

    relations: Relations
    cells: dict[str, Cell] = field(default_factory=dict)
    #: cell ids printed before (constraints) and hidden before (audited)
    known: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)


def extend(stats: Statistics, earlier: Earlier, current: set[str]) -> CrossRelease:
    """``stats``' relation model (a copy) with the earlier figures about earlier months.

    ``current``: the quantity ids of ``stats``' own cells (those are matched by
    :mod:`reports.history` already)."""
    base = stats.relations
    assert base is not None
    rel = replace(
        base, combos=dict(base.combos), equal=list(base.equal), at_most=list(base.at_most)
    )
    out = CrossRelease(rel)
    months = {month_key(m) for m in stats.months}
    moves = _transitions(stats)
    headlines = stats.table("headline")
    segments: dict[tuple[str, str], set[str]] = defaultdict(set)
    for qid in sorted(set(earlier.published) | earlier.hidden):
        if qid in current:
            continue
        stem, _, ym = qid.partition("@")
        parts = stem.split("|")
        if parts[0] == "buckets" and len(parts) == 3 and not ym:
            ym = parts[1]
        if ym not in months or ym >= rel.month:
            continue
        printed = earlier.published.get(qid, [])
        if parts[0] == "buckets":
            _bucket(out, qid, ym, BUCKETS.index(parts[2]), printed, moves)
        elif parts[0] == "rollrates":
            a, b = BUCKETS.index(parts[1]), STATES.index(parts[2])
            _rollrate(out, qid, ym, a, b, printed, moves)
        elif parts[0] == "segments" and _unchanged(earlier, ym, headlines.get((ym,))):
            segments[(ym, parts[1])].add(parts[2])
            _segment(out, qid, ym, parts[1], parts[2], printed)
    for (ym, dim), values in segments.items():  # each dimension adds up to YM's book
        for s in ("accounts", "balance"):
            for b in range(len(BUCKETS)):
                row: Combo = {_var(s, ym, dim, v, b): 1 for v in values}
                for var in rel.book(ym, s, [b]):
                    row[var] = row.get(var, 0) - 1
                rel.equal.append(row)
    return out


def _transitions(stats: Statistics) -> dict[tuple[str, int, int], dict[str, list[Decimal]]]:
    """(month, from, to) → member → [accounts, balance] of today's transitions."""
    out: dict[tuple[str, int, int], dict[str, list[Decimal]]] = defaultdict(dict)
    for row in stats.transitions:
        key = (month_key(row["month"]), int(row["from_state"]), int(row["to_state"]))
        pair = out[key].setdefault(row["member_code"], [Decimal(0), Decimal(0)])
        pair[0] += int(row["accounts"])
        pair[1] += Decimal(int(row["balance_fen"])).scaleb(-2)
    return out


def _add(
    out: CrossRelease,
    qid: str,
    combos: dict[str, Combo],
    values: dict[str, Decimal],
    printed: list[Figures],
    members: dict[str, list[Decimal]],
) -> None:
    """A cell known when a printed figure set equals today's values, else audited if hidden."""
    b = Builder(TABLE)
    key = (qid,)
    for name, value in values.items():
        b.add(key, name, value)
    for member, (n, bal) in members.items():
        b.add_base(key, member, int(n), bal)
    cell = b.build()[0]
    if any(f and all(values.get(k) == v for k, v in f.items()) for f in printed):
        out.known.add(cell.id)
    elif not printed and any(values.values()):
        out.hidden.add(cell.id)
    else:
        return  # printed with other figures (a revision) or hidden and empty: left out
    out.cells[cell.id] = cell
    for name, combo in combos.items():
        out.relations.combos[(cell.id, name)] = combo


def _bucket(
    out: CrossRelease,
    qid: str,
    ym: str,
    bucket: int,
    printed: list[Figures],
    moves: dict[tuple[str, int, int], dict[str, list[Decimal]]],
) -> None:
    after = month_key(add_months(_first(ym), 1))
    if not out.relations.moves.get(after):
        return  # no transitions out of YM in this release's series
    members: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for (m, a, _), by_member in moves.items():
        if m == after and a == bucket:
            for member, (n, bal) in by_member.items():
                members[member][0] += n
                members[member][1] += bal
    values = {
        "accounts": sum((p[0] for p in members.values()), Decimal(0)),
        "balance": sum((p[1] for p in members.values()), Decimal(0)),
    }
    combos = {s: out.relations.book(ym, s, [bucket]) for s in ("accounts", "balance")}
    _add(out, qid, combos, values, printed, members)


def _rollrate(
    out: CrossRelease,
    qid: str,
    ym: str,
    a: int,
    b: int,
    printed: list[Figures],
    moves: dict[tuple[str, int, int], dict[str, list[Decimal]]],
) -> None:
    if not out.relations.moves.get(ym):
        return
    cell = moves.get((ym, a, b), {})
    values = {
        "accounts": sum((p[0] for p in cell.values()), Decimal(0)),
        "balance": sum((p[1] for p in cell.values()), Decimal(0)),
    }
    # the disclosure rule reads the row's population: every account in bucket a
    members: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for (m, x, _), by_member in moves.items():
        if m == ym and x == a:
            for member, (n, bal) in by_member.items():
                members[member][0] += n
                members[member][1] += bal
    combos = {s: out.relations.transition(s, ym, a, b) for s in ("accounts", "balance")}
    if printed:  # a printed roll rate gives the count only (the rate of a printed row)
        values.pop("balance")
        combos.pop("balance")
    _add(out, qid, combos, values, printed, members)


def _segment(
    out: CrossRelease, qid: str, ym: str, dim: str, value: str, printed: list[Figures]
) -> None:
    """A printed segment of month YM as a known constraint (a hidden one is only unknowns)."""
    figures = next((f for f in printed if f), None)
    if figures is None:
        return
    cid = f"{TABLE}|{qid}"
    values = {name: figures[name] for name in _SEGMENT_FIELDS if name in figures}
    out.cells[cid] = Cell(TABLE, (qid,), values, 1, Fraction(1), Fraction(1))
    out.known.add(cid)
    for name in values:
        s, buckets = _SEGMENT_FIELDS[name]
        out.relations.combos[(cid, name)] = {_var(s, ym, dim, value, b): 1 for b in buckets}


def _unchanged(earlier: Earlier, ym: str, headline: Cell | None) -> bool:
    """Whether every headline printed for ``ym`` has today's figures (the month's segments as
    printed then describe today's data)."""
    printed = [f for f in earlier.published.get(f"headline|{ym}", []) if f]
    return (
        headline is not None
        and bool(printed)
        and all(
            all(
                name in headline.values and Decimal(headline.values[name]) == v
                for name, v in f.items()
            )
            for f in printed
        )
    )


def _var(s: str, ym: str, dim: str, value: str, bucket: int) -> str:
    return f"{s}|{ym}|D|{dim}|{value}|{bucket}"


def _first(ym: str) -> dt.date:
    return dt.date.fromisoformat(ym + "-01")
