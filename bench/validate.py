"""Parse + validate throughput of a loans/1 file (ingest.validate), median of several runs.

    .venv/bin/python bench/validate.py [--records 1000000] [--runs 3] [--history] [--processes 2]

Generates a realistic valid file (RICs from python-stdnum's region table with check digits from
``stdnum.cn.ric.calc_check_digit``; about 1 % of records carry a fault) once into ``bench/out/``
and prints a table: records, cores, bytes, and per stage the median seconds and records/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
from stdnum.cn import ric

# Run as a script, this folder is first on sys.path and its ingest.py would hide the ingest
# package: take the folder off before the project's imports.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from exchange.domain import LOANS_V1_COLUMNS
from exchange.pseudonym import Pseudonymiser
from exchange.regions import listed_codes
from ingest.history import apply_reference
from ingest.parse import read_records
from ingest.validate import Validation, validate_submission

OUT = Path(__file__).resolve().parent / "out"
NAME = "BENCH_20250131_001.loans.csv"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
PRODUCTS = np.array(["CASH", "INSTALLMENT", "REVOLVING", "BNPL", "AUTO", "OTHER"])


def make_file(n: int, seed: int = 7) -> bytes:
    """``n`` records of ``n`` accounts; roughly 1 % carry one fault each."""
    rng = np.random.default_rng(seed)
    region = rng.choice(listed_codes(), n)
    born = np.datetime64("1960-01-01") + rng.integers(0, 365 * 44, n).astype("timedelta64[D]")
    seq = rng.integers(0, 1000, n)
    bodies = [
        f"{r:06d}{str(b).replace('-', '')}{s:03d}"
        for r, b, s in zip(region, born, seq, strict=True)
    ]
    ids = [b + ric.calc_check_digit(b + "0") for b in bodies]
    names = [
        "".join(x)
        for x in zip(rng.choice(list(SURNAMES), n), rng.choice(list(GIVEN), n), strict=True)
    ]
    mobiles = [f"1{m:010d}" for m in rng.integers(3_000_000_000, 9_999_999_999, n)]
    product = rng.choice(PRODUCTS, n, p=[0.3, 0.3, 0.15, 0.15, 0.05, 0.05])
    opened = np.datetime64("2025-01-31") - rng.integers(30, 1500, n).astype("timedelta64[D]")
    revolving = product == "REVOLVING"
    maturity = opened + (rng.integers(6, 60, n) * 30).astype("timedelta64[D]")
    credit = rng.integers(1_000, 200_000, n)
    installments = np.where(revolving, 0, rng.integers(3, 60, n))
    balance = (credit * rng.random(n)).round(2)
    dpd = np.where(rng.random(n) < 0.1, rng.integers(1, 200, n), 0)
    overdue = np.where(dpd > 0, (balance * 0.1).round(2) + 1, 0.0)
    status = np.where(dpd > 0, "OVERDUE", "NORMAL")
    fault = rng.random(n) < 0.01
    lines = [",".join(LOANS_V1_COLUMNS)]
    for i in range(n):
        mat = "" if revolving[i] else str(maturity[i])
        lines.append(
            f"A,{'BN' if not fault[i] else 'BN#'}{i:010d},RIC,{ids[i]},{names[i]},{mobiles[i]},{product[i]},NONE,"
            f"{opened[i]},{mat},CNY,{credit[i]}.00,{installments[i]},M,2025-01-31,{balance[i]:.2f},"
            f"{balance[i] / 12:.2f},{balance[i] / 12:.2f},{overdue[i]:.2f},{overdue[i] / 2:.2f},{dpd[i]},"
            f"{int(dpd[i] > 0)},{status[i]},,1,CONSENT-{i},{'2024-12-01' if dpd[i] else ''},"
        )
    return ("\n".join(lines) + "\n").encode()


class TimedPseudonymiser(Pseudonymiser):
    """Counts the seconds spent hashing, to report validation with and without it."""

    seconds = 0.0

    def macs(self, messages: Iterable[bytes]) -> bytes:
        start = time.perf_counter()
        try:
            return super().macs(messages)
        finally:
            TimedPseudonymiser.seconds += time.perf_counter() - start


class StubPseudonymiser(Pseudonymiser):
    """Returns a constant instead of hashing: validation's own cost without the HMACs."""

    def macs(self, messages: Iterable[bytes]) -> bytes:
        return bytes(32) * len(list(messages))


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, object]:
    """Median wall seconds, median seconds spent hashing, last result."""
    times: list[float] = []
    hashing: list[float] = []
    result: object = None
    for _ in range(runs):
        TimedPseudonymiser.seconds = 0.0
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        hashing.append(TimedPseudonymiser.seconds)
    return statistics.median(times), statistics.median(hashing), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--history", action="store_true", help="also time the history and across-member rules"
    )
    ap.add_argument(
        "--processes",
        type=int,
        default=0,
        help="also time validation in this many processes (ingest.parts) against one, runs "
        "interleaved so both see the same machine load",
    )
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"loans-{args.records}.csv"
    if not path.exists():
        path.write_bytes(make_file(args.records))
    data = path.read_bytes()
    control = json.dumps(
        {
            "spec": "loans/1",
            "file": NAME,
            "sha256": hashlib.sha256(data).hexdigest(),
            "records": args.records,
            "as_of": "2025-01-31",
        }
    ).encode()
    p = TimedPseudonymiser(b"bench-pepper-" + bytes(32))
    listed_codes()  # built once per process
    n = args.records
    rows = []
    t, _, _ = timed(lambda: read_records(data), args.runs)
    rows.append(("parse (bytes → string columns)", t))
    t, hashing, v = timed(
        lambda: validate_submission(NAME, data, control, uploader="BENCH", pseudonymiser=p),
        args.runs,
    )
    assert isinstance(v, Validation)
    stub = StubPseudonymiser(bytes(32))
    t_stub, _, _ = timed(
        lambda: validate_submission(NAME, data, control, uploader="BENCH", pseudonymiser=stub),
        args.runs,
    )
    rows.append(("parse + validate, hashing stubbed", t_stub))
    rows.append(("  of which inside Pseudonymiser (real)", hashing))
    rows.append(("parse + validate + pseudonymise", t))
    if args.processes > 1:
        runs_of: dict[int, list[float]] = {1: [], args.processes: []}
        for _ in range(args.runs):
            for processes in runs_of:
                start = time.perf_counter()
                many = validate_submission(
                    NAME, data, control, uploader="BENCH", pseudonymiser=p, processes=processes
                )
                runs_of[processes].append(time.perf_counter() - start)
        assert many.rows.equals(v.rows) and many.issue_table.equals(v.issue_table)
        for processes, taken in runs_of.items():
            label = f"the same, {processes} process(es), interleaved"
            rows.append((label, statistics.median(taken)))
    if args.history:
        history = pa.table(
            {
                "account_id": v.rows.column("account_id"),
                "as_of_date": pa.array([dt.date(2025, 1, 1)] * v.rows.num_rows, pa.date32()),
                "dpd": pa.array(np.zeros(v.rows.num_rows, np.int32)),
                "borrower_key": v.rows.column("borrower_key"),
                "opened_date": v.rows.column("opened_date"),
                "ever_negative": pa.array(np.zeros(v.rows.num_rows, bool)),
            }
        )
        # other members know every borrower; 1 % of them under another name
        names = v.rows.column("name_hash").to_numpy(zero_copy_only=False).copy()
        names[::100] = "another name"
        others = pa.table({"borrower_key": v.rows.column("borrower_key"), "name_hash": names})
        t, _, _ = timed(
            lambda: apply_reference(v, history=history, other_members=others), args.runs
        )
        rows.append(("history + across members (H5xx, M601)", t))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load} · "
        f"python {platform.python_version()} · pyarrow {pa.__version__} · numpy {np.__version__}"
    )
    print(f"file: {n:,} records, {len(data) / 1e6:.0f} MB · median of {args.runs} runs")
    print(f"outcome: {v.status}, accepted {v.accepted_count:,}, issues {v.issues.num_rows:,}")
    print()
    print(f"| {'stage':40} | {'records':>10} | {'cores':>5} | {'seconds':>7} | {'records/s':>10} |")
    print(f"|{'-' * 42}|{'-' * 12}|{'-' * 7}|{'-' * 9}|{'-' * 12}|")
    for stage, seconds in rows:
        rate = f"{n / seconds:>10,.0f}" if seconds > 0 else f"{'—':>10}"
        print(f"| {stage:40} | {n:>10,} | {os.cpu_count():>5} | {seconds:>7.2f} | {rate} |")


if __name__ == "__main__":
    main()
