"""The synthetic industry: :func:`simulate` builds it, :class:`Industry` holds it.

One seeded :class:`numpy.random.Generator` drives every draw in a fixed order — members,
borrowers, relationships, loans, behaviour — so the same seed and arguments give the same
industry bit for bit (and so the same files byte for byte). Nothing reads the clock except the
default end month, the month before today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exchange.domain import InstitutionType
from exchange.pseudonym import ID_TYPES
from simulator import params
from simulator.behaviour import Records, behaviour_months, simulate_behaviour
from simulator.loans import Accounts, Relations, draw_relations, plan_accounts
from simulator.months import default_end_month, month_end, month_start, to_date, year_month
from simulator.population import Borrowers, Member, make_borrowers, make_members


@dataclass(frozen=True)
class Industry:
    """Members, borrowers, accounts and the monthly records of a simulated industry."""

    seed: int
    first_month: int  # month number (year * 12 + month - 1) of the first reported month
    months: int
    members: list[Member]
    borrowers: Borrowers
    relations: Relations
    accounts: Accounts
    records: Records
    notice: np.ndarray  # int32 per account: negative_notice_date day number, 0 if never behind

    def month_labels(self) -> list[str]:
        """``YYYY-MM`` of every reported month."""
        labels = []
        for t in range(self.months):
            year, month = year_month(self.first_month + t)
            labels.append(f"{year:04d}-{month:02d}")
        return labels

    def first_day(self) -> dt.date:
        """First day of the first reported month."""
        return to_date(int(month_start(self.first_month)))

    def last_day(self) -> dt.date:
        """Last day of the last reported month."""
        return to_date(int(month_end(self.first_month + self.months - 1)))

    @cached_property
    def member_types(self) -> np.ndarray:
        """int8 type index (params.TYPES) of every member."""
        return np.array([params.TYPES.index(m.type) for m in self.members], dtype=np.int8)

    @cached_property
    def account_ids(self) -> pa.StringArray:
        """``<member code>-<serial, 8 digits>`` of every account."""
        return self.account_ids_of(np.arange(len(self.accounts)))

    @cached_property
    def consent_refs(self) -> pa.StringArray:
        """The consent reference under which each account's data is shared."""
        return self.consent_refs_of(np.arange(len(self.accounts)))

    def account_ids_of(self, account: np.ndarray) -> pa.StringArray:
        """:attr:`account_ids` of the accounts ``account`` only (no array of every account)."""
        codes = pa.array([m.code for m in self.members]).take(
            pa.array(self.accounts.member[account])
        )
        serial = pc.utf8_lpad(pc.cast(pa.array(self.accounts.serial[account]), pa.string()), 8, "0")
        return pc.binary_join_element_wise(codes, serial, "-")

    def consent_refs_of(self, account: np.ndarray) -> pa.StringArray:
        """:attr:`consent_refs` of the accounts ``account`` only."""
        opened = pa.array(self.accounts.opened[account], pa.date32())
        ymd = pc.strftime(opened, format="%Y%m%d")
        serial = pc.utf8_lpad(pc.cast(pa.array(self.accounts.serial[account]), pa.string()), 8, "0")
        codes = pa.array([m.code for m in self.members]).take(
            pa.array(self.accounts.member[account])
        )
        return pc.binary_join_element_wise("CR", codes, ymd, serial, "")

    @cached_property
    def id_types(self) -> pa.StringArray:
        return pa.array(list(ID_TYPES)).take(pa.array(self.borrowers.id_type))

    @cached_property
    def id_numbers(self) -> pa.StringArray:
        """Borrowers' identity numbers as Arrow strings (raw: for members' files only)."""
        return pa.array(self.borrowers.id_number, pa.string())

    @cached_property
    def names(self) -> pa.StringArray:
        return pa.array(self.borrowers.name, pa.string())

    @cached_property
    def mobiles(self) -> pa.StringArray:
        return pa.array(self.borrowers.mobile, pa.string())

    def members_by_type(self) -> dict[InstitutionType, int]:
        counts: dict[InstitutionType, int] = {t: 0 for t in InstitutionType}
        for m in self.members:
            counts[m.type] += 1
        return counts


def simulate(
    *,
    members: int = 40,
    borrowers: int = 200_000,
    months: int = 24,
    seed: int = 7,
    end_month: int | None = None,
) -> Industry:
    """Simulate an industry; ``end_month`` is a month number (default: the month before today).

    Raises ``ValueError`` with the argument's name for impossible sizes.
    """
    setup = _setup(members, borrowers, months, seed, end_month)
    outcome = simulate_behaviour(setup.rng, *setup.chain_args())
    planned = setup.accounts
    # keep only accounts that were opened; renumber the records' account index
    kept = np.flatnonzero(outcome.opened)
    renumber = np.full(len(planned), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    records = outcome.records
    records = Records(
        **{
            **{f: getattr(records, f) for f in records.__dataclass_fields__},
            "account": renumber[records.account].astype(np.int32),
        }
    )
    return Industry(
        seed=seed,
        first_month=setup.first_month,
        months=months,
        members=setup.members,
        borrowers=setup.borrowers,
        relations=setup.relations,
        accounts=planned.take(kept),
        records=records,
        notice=outcome.notice[kept],
    )


@dataclass
class IndustryStream:
    """An industry simulated month by month (:func:`simulate_stream`): only one month's records
    are in memory at a time.

    :meth:`months` runs the chain and yields, for each reported month, an :class:`Industry`
    whose ``records`` are that month's only (``month`` = its index) and whose ``accounts`` are
    every *planned* loan (declined ones included: records never point at them). Each yielded
    industry is valid until the next step (it shares the live per-account state). The rows are
    the ones :func:`simulate` gives for the same arguments, month by month, and
    :func:`simulator.bulk.stream_tables` turns them into the same ``loan_states`` rows as
    :func:`simulator.bulk.bulk_tables`; only the account numbering differs (records index the
    planned accounts, and account ids come from the member and serial either way).
    """

    seed: int
    first_month: int
    months_count: int
    members: list[Member]
    borrowers: Borrowers
    relations: Relations
    accounts: Accounts
    _setup: _Setup
    _used: bool = False

    def months(self) -> Iterator[Industry]:
        if self._used:
            raise RuntimeError("an IndustryStream can be iterated once (simulate_stream again)")
        self._used = True
        setup = self._setup
        for _t, rows, book in behaviour_months(setup.rng, *setup.chain_args()):
            records = Records(**{f.name: rows[f.name] for f in fields(Records)})
            yield Industry(
                seed=self.seed,
                first_month=self.first_month,
                months=self.months_count,
                members=self.members,
                borrowers=self.borrowers,
                relations=self.relations,
                accounts=self.accounts,
                records=records,
                notice=book.notice,
            )


def simulate_stream(
    *,
    members: int = 40,
    borrowers: int = 200_000,
    months: int = 24,
    seed: int = 7,
    end_month: int | None = None,
) -> IndustryStream:
    """:func:`simulate`, but the months are produced one at a time (see :class:`IndustryStream`).

    Memory is the population, the planned loans and one month of records: about 1.5 GB for
    4.4M borrowers (where :func:`simulate` holds every month's records at once).
    """
    setup = _setup(members, borrowers, months, seed, end_month)
    return IndustryStream(
        seed=seed,
        first_month=setup.first_month,
        months_count=months,
        members=setup.members,
        borrowers=setup.borrowers,
        relations=setup.relations,
        accounts=setup.accounts,
        _setup=setup,
    )


@dataclass
class _Setup:
    """Everything drawn before the monthly chain, and the generator that drives the chain."""

    rng: np.random.Generator
    first_month: int
    months: int
    members: list[Member]
    borrowers: Borrowers
    relations: Relations
    accounts: Accounts

    def chain_args(
        self,
    ) -> tuple[Accounts, Relations, Borrowers, list[Member], int, int]:
        return (
            self.accounts,
            self.relations,
            self.borrowers,
            self.members,
            self.first_month,
            self.months,
        )


def _setup(members: int, borrowers: int, months: int, seed: int, end_month: int | None) -> _Setup:
    if members < len(params.TYPES):
        raise ValueError(
            f"members must be at least {len(params.TYPES)} (one per institution type); "
            f"received {members}"
        )
    if borrowers < 1:
        raise ValueError(f"borrowers must be at least 1; received {borrowers}")
    if not 1 <= months <= 120:
        raise ValueError(f"months must be 1–120; received {months}")
    last = default_end_month() if end_month is None else end_month
    first = last - months + 1
    if year_month(first - params.BURN_IN)[0] < 2010 or year_month(last)[0] > 2040:
        raise ValueError(
            "the simulated months (with a 12-month burn-in) must lie in 2010–2040, the years "
            f"of the Spring Festival table; received {months} months ending "
            f"{year_month(last)[0]:04d}-{year_month(last)[1]:02d}"
        )
    rng = np.random.default_rng(seed)
    member_list = make_members(rng, members, to_date(int(month_start(first))))
    people = make_borrowers(rng, borrowers, int(month_end(last)), members)
    relations = draw_relations(rng, member_list, people, first, months)
    planned = plan_accounts(rng, member_list, relations, first, months)
    return _Setup(rng, first, months, member_list, people, relations, planned)
