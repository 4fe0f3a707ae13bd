"""A deterministic synthetic industry for the demo, tests and benchmarks.

Members of every institution type, borrowers with valid identity numbers and heavy-tailed
multi-borrowing, loans of every product, and their month-by-month repayment behaviour (a Markov
chain over dpd buckets with a Spring Festival bump; see :mod:`simulator.params`) — written as
members' ``loans/1`` files with control files (:func:`write_files`, optionally with injected
faults from :data:`FAULTS`) or bulk-loaded into the warehouse pseudonymised
(:func:`bulk_tables`, :func:`load_into`). For industries too big to hold every month at once,
:func:`simulate_stream` produces the same months one at a time and :func:`stream_tables` /
:func:`load_stream_into` load them::

    from simulator import simulate, write_files

    industry = simulate(members=40, borrowers=200_000, months=24, seed=7)
    write_files(industry, "out/", error_rate=0.01)

Modules: ``params`` (every number and why), ``regions`` and ``names`` (identities),
``population`` (members, borrowers), ``loans`` (relationships, planned loans), ``behaviour``
(the monthly chain), ``industry`` (:func:`simulate`), ``records`` (records as loans/1 columns),
``writer`` (files), ``faults`` (fault catalogue), ``bulk`` (warehouse rows), ``stats`` (figures).
"""

from simulator.bulk import (
    LOAN_STATES_SCHEMA,
    bulk_tables,
    load_into,
    load_stream_into,
    stream_tables,
)
from simulator.faults import CATALOGUE, FAULTS, FaultKind, InjectedFault
from simulator.industry import Industry, IndustryStream, simulate, simulate_stream
from simulator.population import Member
from simulator.stats import Summary, monthly_stats, summarise
from simulator.writer import WriteResult, WrittenFile, write_files

__all__ = [
    "CATALOGUE",
    "FAULTS",
    "LOAN_STATES_SCHEMA",
    "FaultKind",
    "Industry",
    "IndustryStream",
    "InjectedFault",
    "Member",
    "Summary",
    "WriteResult",
    "WrittenFile",
    "bulk_tables",
    "load_into",
    "load_stream_into",
    "monthly_stats",
    "simulate",
    "simulate_stream",
    "stream_tables",
    "summarise",
    "write_files",
]
