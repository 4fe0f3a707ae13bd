"""Where one multi-loan lookup's time goes, in-process, stage by stage (issue 16).

Opens a warehouse built by ``bench/lookups.py --home DIR`` (it must not be open elsewhere: chDB
allows one process per directory), starts ``ProductService`` on it as ``jdx serve`` does, and for
each of ``--samples`` borrowers times, one thread, the stages of ``POST /v1/multi-loan``'s
handler as ``products.routes_lookups`` runs them: key check (cached), identity check, HMAC,
consent check (``[api] consent_strict`` only), the named query alone, the rest of ``fetch`` (Python: versions, windows, counts),
disputes, the report, the inquiry journal line, orjson; then the warehouse query as chDB returns
it before clickhouse-connect decodes it (Native bytes), ``SELECT 1`` through both, and the hop to
a worker thread that FastAPI makes for a blocking handler. Prints medians.

    .venv/bin/python bench/lookup_path.py --home DIR [--samples 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--samples", type=int, default=400)
    args = ap.parse_args()
    home = args.home.absolute()
    facts = json.loads((home / "built.json").read_text())
    os.environ.update({"JDX_HOME": str(home), "JDX_API_PORT": "0", "JDX_API_RECIPROCITY": "false",
                       "JDX_API_RATE_PER_SECOND": "100000", "JDX_API_RATE_BURST": "100000"})  # fmt: skip
    # bench/ holds scripts named like the packages (bench/ingest.py): import the packages
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    import anyio.to_thread
    import orjson

    from exchange.identity import quick_valid
    from exchange.registry import db as registry_db
    from products.inquiry_log import InquiryRow, new_id, now_ms
    from products.lookups import borrower as B
    from products.lookups import multi_loan
    from products.service import ProductService
    from runtime.config import load as load_settings
    from warehouse import migrate, open_configured
    from warehouse.client import _TEXT_FORMATS
    from warehouse.settings import WarehouseSettings
    from warehouse.sqlfiles import named_query

    s = load_settings()
    registry_db.upgrade(s.registry_url)
    wh = open_configured(s.section(WarehouseSettings))
    applied = migrate(wh)
    service = ProductService(s, warehouse=wh)
    service.start()
    cfg, pseud = service.cfg, service.pseudonymiser
    caller = service.authenticator.authenticate(facts["token"])
    assert caller is not None
    people = facts["people"][-(args.samples + 50) :]
    client = wh._client()  # this thread's clickhouse-connect client
    conn = client._backend._handle.conn  # type: ignore[attr-defined]  # its chDB connection
    lookup_sql = named_query("lookup_borrower").sql
    stats = {r["table"]: (r["active_parts"], r["rows"]) for r in wh.table_stats()}
    times: dict[str, list[float]] = {}

    def timed(stage: str, fn: Any) -> Any:
        a = time.perf_counter()
        out = fn()
        times.setdefault(stage, []).append((time.perf_counter() - a) * 1000)
        return out

    today = B.today_cst()
    for i, (id_type, id_number) in enumerate(people):
        if i == 50:
            times.clear()  # warm-up done
        timed("key check (cached)", lambda: service.authenticator.authenticate(facts["token"]))
        timed("identity check", lambda t=id_type, n=id_number: quick_valid(t, n))
        key = timed("HMAC borrower key", lambda t=id_type, n=id_number: pseud.borrower_key(t, n))
        if cfg.consent_strict:  # as the route: only in strict mode (a registry read, cached)
            timed(
                "consent check",
                lambda k=key: service.consents.refusal(caller.member_code, "BENCH", k, today),
            )
        stored = timed("query lookup_borrower (clickhouse-connect)",
                       lambda k=key: wh.query("lookup_borrower", key=k))  # fmt: skip

        class Cached:
            def __init__(self, result: Any) -> None:
                self.result = result

            def query(self, name: str, **params: Any) -> Any:
                return self.result

        data = timed(
            "fetch: Python on the rows",
            lambda k=key, r=stored: B.fetch(Cached(r), k, today, service.inquiries),
        )
        timed("disputes", lambda k=key: service.disputes.open_for(k))
        answer = timed("report (labels, sections)",
                       lambda d=data: multi_loan.report(d, B.Labels(caller, d), cfg, None))  # fmt: skip
        row = InquiryRow(key, now_ms(), new_id(), caller.member_code, caller.member_type.value,
                         "MULTI_LOAN", "LOAN_APPROVAL", "BENCH", caller.key_id)  # fmt: skip
        timed("inquiry journal line", lambda r=row: service.inquiries.record(r))
        timed("orjson answer", lambda a=answer: orjson.dumps({"product": "MULTI_LOAN", **a}))
        timed("query as chDB returns it (Native bytes)",
              lambda k=key: conn.query(lookup_sql + "\nFORMAT Native", "Native", params={"key": k}))  # fmt: skip
        timed(
            "SELECT 1 (clickhouse-connect)",
            lambda: client.query("SELECT 1", query_formats=_TEXT_FORMATS),
        )
        timed(
            "SELECT 1 (chDB Native bytes)", lambda: conn.query("SELECT 1 FORMAT Native", "Native")
        )

    async def hops() -> None:
        for _ in range(args.samples):
            a = time.perf_counter()
            await anyio.to_thread.run_sync(lambda: None)
            times.setdefault("hop to a worker thread and back", []).append(
                (time.perf_counter() - a) * 1000
            )

    asyncio.run(hops())
    service.stop()
    wh.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"warehouse: {home} ({facts.get('accounts', '?')} accounts); migrations applied now: "
          f"{', '.join(applied) or 'none'}; borrower_lookup {stats.get('borrower_lookup')} "
          f"(active parts, rows)")  # fmt: skip
    print(f"samples: {args.samples} borrowers, one thread, medians\n")
    handler = 0.0
    for stage, values in times.items():
        m = statistics.median(values)
        if not stage.startswith(("query as", "SELECT 1", "hop")):
            handler += m
        print(f"{stage:<44}{m:8.3f} ms")
    print(f"{'sum of the handler stages':<44}{handler:8.3f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
