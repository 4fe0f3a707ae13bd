"""``jdx demo``: the whole exchange end to end on one machine, with figures printed.

Idempotent: a second run finds the members registered and re-loads the same simulated records
with the same load sequence numbers, which the warehouse's replacing tables count once.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import click
import pyarrow as pa
import pyarrow.compute as pc

from cli import Context, pass_ctx
from cli.core import initialise

DEMO_ACTOR = "demo"
#: share of the latest month's records given a fault, so receipts show coded errors
ERROR_RATE = 0.002
DEMO_FAULTS = ("bad_ric_checksum", "bad_enum", "negative_amount", "dpd_without_overdue")
TABLES = ("loan_states", "accounts_current", "account_months")


class _Steps:
    """Numbered progress lines with elapsed seconds."""

    def __init__(self) -> None:
        self.n = 0
        self.t0 = time.perf_counter()

    def __call__(self, text: str) -> None:
        self.n += 1
        click.echo(f"[{self.n}] {text}")

    def done(self, text: str) -> None:
        click.echo(f"    {text} ({time.perf_counter() - self.t0:.1f} s)")


@click.command("demo")
@click.option("--members", type=int, default=40, show_default=True, help="Member institutions.")
@click.option("--borrowers", type=int, default=20_000, show_default=True, help="Borrowers.")
@click.option("--months", type=int, default=24, show_default=True, help="Months of history.")
@click.option("--seed", type=int, default=7, show_default=True, help="Simulation seed.")
@pass_ctx
def demo_cmd(ctx: Context, members: int, borrowers: int, months: int, seed: int) -> None:
    """Build an embedded exchange in JDX_HOME and run a synthetic industry through it.

    Initialises the data directory, simulates members and borrowers, registers the members,
    writes the latest month's member files, loads the history into the warehouse (pseudonymised),
    lets one member call the lookup API over HTTP (multi-loan, time series, a small batch) and
    prints the industry summary and where everything is.
    """
    from cli.reports import echo_result
    from exchange import registry
    from exchange.keyfiles import load_pepper
    from exchange.pseudonym import Pseudonymiser
    from exchange.registry import db as registry_db
    from exchange.registry.errors import MemberNotFound
    from products.settings import ApiSettings
    from reports.release import build as build_release
    from reports.release import latest_month
    from reports.settings import ReportSettings
    from simulator import bulk_tables, simulate, summarise, write_files
    from warehouse import open_configured
    from warehouse.settings import WarehouseSettings

    s = ctx.settings
    step = _Steps()
    step(f"initialise the data directory {s.home}")
    for line in initialise(ctx):
        click.echo(f"    {line}")

    step(f"simulate {members} members, {borrowers:,} borrowers, {months} months (seed {seed})")
    industry = simulate(members=members, borrowers=borrowers, months=months, seed=seed)
    summary = summarise(industry)
    step.done(
        f"{len(industry.members)} members, {summary.accounts:,} accounts, "
        f"{summary.account_months:,} account-months, {industry.month_labels()[0]} … "
        f"{industry.month_labels()[-1]}"
    )

    step("register the members in the registry (audited)")
    added = 0
    with registry_db.session(s.registry_url) as db:
        for m in industry.members:
            try:
                registry.get_member(db, m.code)
            except MemberNotFound:
                registry.add_member(
                    db, code=m.code, name=m.name, type=m.type, joined=m.joined, actor=DEMO_ACTOR
                )
                added += 1
    by_type = Counter(str(m.type) for m in industry.members)
    step.done(
        f"{added} added, {len(industry.members) - added} already there; "
        + ", ".join(f"{t} {n}" for t, n in sorted(by_type.items()))
    )

    last_month = industry.month_labels()[-1]
    files_dir = s.home / "demo" / f"files-{last_month}"
    step(f"write the members' {last_month} loans/1 files (a few faulty records) into {files_dir}")
    if files_dir.exists() and any(files_dir.iterdir()):
        files = sorted(files_dir.glob("*/*.loans.csv"))
        step.done(f"already written: {len(files)} data files")
    else:
        written = write_files(
            industry, files_dir, last_months=1, error_rate=ERROR_RATE, faults=DEMO_FAULTS
        )
        files = sorted(files_dir / f.data for f in written.files)
        step.done(f"{len(files)} data files, {len(written.faults)} injected faults")

    step("pseudonymise and load the earlier months into the warehouse directly")
    pseudonymiser = Pseudonymiser(load_pepper(s))
    first_of_last = industry.last_day().replace(day=1)
    wcfg = s.section(WarehouseSettings)
    with open_configured(wcfg) as wh:  # with the [warehouse] engine caps
        rows = 0
        for table in bulk_tables(industry, pseudonymiser):
            earlier = table.filter(pc.less(table["as_of_date"], pa.scalar(first_of_last)))
            if earlier.num_rows:
                wh.insert_arrow("loan_states", earlier)
                rows += earlier.num_rows
        step.done(f"{rows:,} loan states of {len(industry.month_labels()) - 1} months loaded")

        step(f"members upload their {last_month} files over SFTP; the loader loads them")
        receipts = upload_over_sftp(ctx, wh, industry, files)
        statuses = Counter(str(r.get("status")) for r in receipts.values())
        step.done(", ".join(f"{n} {st}" for st, n in sorted(statuses.items())))
        for table in TABLES:
            wh.optimize(table)
        month = industry.last_day()
        row = wh.query("industry_summary", month=month).one()
        step("start the lookup API; one member's risk system looks borrowers up over HTTP")
        api = lookups_over_http(ctx, wh, industry, receipts)
        step.done(api.summary)
        step(f"build the industry delinquency release for {industry.month_labels()[-1]}")
        release = build_release(s, wh, latest_month(wh), actor=DEMO_ACTOR)
        step.done(f"release v{release.version} in {release.path}")
        step("dashboard logins: a staff user and an analyst of the member that looked up")
        logins = dashboard_logins(s.registry_url, api.member)
        step.done(", ".join(f"{n} ({'new' if p else 'exists'})" for n, p in logins.values()))
        counts = wh.table_rows()
        size = wh.disk_bytes()

    share = row["dpd30_share"]
    click.echo("")
    click.echo(f"Industry summary, {industry.month_labels()[-1]}")
    click.echo(f"  members reporting        {row['members_reporting']:>12,}")
    click.echo(f"  active borrowers         {row['borrowers']:>12,}")
    click.echo(f"  open accounts            {row['open_accounts']:>12,}")
    click.echo(f"  months of history        {row['months_available']:>12,}")
    click.echo(f"  30+ dpd share (count)    {(share or 0) * 100:>11.2f}%")
    click.echo("")
    click.echo(f"Receipts of the {last_month} uploads (in each member's outbox/)")
    for name, receipt in sorted(receipts.items())[:6]:
        codes = ", ".join(
            f"{c}×{n}" for c, n in sorted((receipt.get("error_counts") or {}).items())
        )
        click.echo(
            f"  {name:<28} {receipt.get('status', '?'):<20} accepted {receipt.get('accepted', 0):>6}"
            f"  rejected {receipt.get('rejected', 0):>3}  {codes}"
        )
    if len(receipts) > 6:
        click.echo(f"  … and {len(receipts) - 6} more")
    click.echo("")
    click.echo(f"Lookups by {api.member} over the API (as of {industry.last_day()}; IDs masked)")
    click.echo(
        f"  {'borrower':<20} {'open accts':>10} {'institutions':>12} {'balance':>14} "
        f"{'worst dpd 24m':>13}  {'worst status (24 months, all accounts)'}"
    )
    for line in api.lines:
        click.echo(f"  {line}")
    click.echo("")
    click.echo("Industry delinquency release")
    echo_result(release, s.section(ReportSettings).decimals)
    publication = release.publication
    if publication is not None and len(publication.stats.months) < 36:
        click.echo(
            f"  no seasonally adjusted series: {len(publication.stats.months)} months < 36 (the "
            "release says why); with 36 months of history X-13ARIMA-SEATS adjusts them — try "
            "`jdx demo --months 36` in a fresh JDX_HOME"
        )
    click.echo("")
    click.echo("Where things are")
    click.echo(f"  data directory   {s.home}")
    click.echo(f"  registry         {registry_db.mask_url(s.registry_url)}")
    click.echo(
        f"  warehouse        {wcfg.url if wcfg.url.startswith('chdb') else '(server)'}"
        f"  ({counts.get('account_months', 0):,} account-months, {size / 1e6:,.0f} MB on disk)"
    )
    click.echo(f"  member files     {files_dir}")
    acfg = s.section(ApiSettings)
    api_at = f"http://{acfg.host}:{acfg.port}"
    click.echo(f"  lookup API       {api_at} while `jdx serve` runs (OpenAPI docs {api_at}/docs,")
    click.echo(f"                   schema /openapi.json); this demo's API was at {api.url}/docs")
    click.echo(f"  releases         {release.path.parent.parent}")
    click.echo(f"  dashboards       {api_at}/dashboards/ while `jdx serve` runs (public pages of")
    click.echo("                   the releases: rates, segments, roll rates, 中文/English)")
    click.echo(f"  member portal    {api_at}/dashboards/portal  (log in at /dashboards/login)")
    click.echo(f"  ops console      {api_at}/dashboards/console")
    for role, (name, password) in logins.items():
        shown = (
            f"password {password}  (shown once; stored as an argon2id hash)"
            if password
            else "password shown when the demo first made it (reset: jdx user set-password)"
        )
        click.echo(f"    {role:<15} user {name:<18} {shown}")
    click.echo("")
    click.echo(
        "Try: jdx member list · jdx audit verify · jdx warehouse status · jdx report list · jdx serve"
    )


COMMANDS = [demo_cmd]


def dashboard_logins(registry_url: str, member: str) -> dict[str, tuple[str, str | None]]:
    """A staff admin and an analyst of ``member`` for the portal and the console: made on the
    first run with a random password (returned once, stored hashed); later runs leave them as
    they are (``None``: not shown again)."""
    import secrets

    from exchange import registry
    from exchange.registry import db as registry_db
    from exchange.registry.errors import UserNotFound
    from exchange.registry.users import set_password

    with registry_db.session(registry_url, readonly=True) as db:
        earlier = [u for u in registry.list_users(db) if u.username.startswith("analyst.")]
    if earlier:  # an earlier run chose the member (a rerun's lookups may be another member's)
        member = earlier[0].institution or member
    wanted = {
        "staff (console)": ("demo.staff", "admin", None),
        f"member {member}": (f"analyst.{member.lower()}", "analyst", member),
    }
    out: dict[str, tuple[str, str | None]] = {}
    for label, (name, role, institution) in wanted.items():
        with registry_db.session(registry_url) as db:
            try:
                registry.get_user(db, name)
                out[label] = (name, None)
            except UserNotFound:
                password = secrets.token_urlsafe(12)
                registry.add_user(db, name, role, institution, actor=DEMO_ACTOR)
                set_password(db, name, password, actor=DEMO_ACTOR)
                out[label] = (name, password)
    return out


class ApiDemo:
    """What the demo's lookups over HTTP found (printed at the end)."""

    def __init__(self, member: str, url: str, summary: str, lines: list[str]) -> None:
        self.member, self.url, self.summary, self.lines = member, url, summary, lines


def _worst_status(grids: list[str]) -> str:
    """The worst code of DOMAIN.md §3's grids: dpd 7…1, then G/Z (ended for less), else N/C."""
    cells = "".join(grids)
    for code in ("7", "6", "5", "4", "3", "2", "1", "G", "Z", "N", "*", "C"):
        if code in cells:
            return code
    return "-"


def lookups_over_http(ctx: Context, wh: object, industry: object, receipts: dict) -> ApiDemo:
    """Serve the API on this process's warehouse (real uvicorn on 127.0.0.1, any free port),
    issue a key to one member, look three multi-institution borrowers up (multi-loan and time
    series, with consent and purpose) and run a small batch job over HTTP; the key is revoked
    at the end (each run issues its own)."""
    import httpx
    import numpy as np

    from exchange import registry
    from exchange.pseudonym import mask_id
    from exchange.registry import db as registry_db
    from products.service import ProductService

    s = ctx.settings
    ind: Any = industry
    loaded = sorted(
        name.split("_", 1)[0]
        for name, r in receipts.items()
        if r.get("status") in ("accepted", "partially_accepted")
    )
    member = loaded[0] if loaded else ind.members[0].code
    accounts = ind.accounts
    pairs = np.unique(accounts.borrower.astype(np.int64) * 4096 + accounts.member)
    lenders = np.bincount(pairs // 4096, minlength=len(ind.borrowers))
    picks = [int(i) for i in np.argsort(-lenders, kind="stable")[:3]]
    id_types, id_numbers = ind.id_types.to_pylist(), ind.id_numbers
    as_of = ind.last_day().isoformat()
    with registry_db.session(s.registry_url) as db:
        key_id, token = registry.issue_api_key(
            db, member, ["multi_loan", "time_series", "batch"], "demo", actor=DEMO_ACTOR
        )
    service = ProductService(s, warehouse=wh, host="127.0.0.1", port=0)  # type: ignore[arg-type]
    service.start()
    lines: list[str] = []
    try:
        with httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as c:
            for n, i in enumerate(picks):
                who = {"id_type": id_types[i], "id_number": str(id_numbers[i]), "as_of": as_of,
                       "consent_ref": f"DEMO-CONSENT-{n + 1}", "purpose": "LOAN_APPROVAL"}  # fmt: skip
                ml = c.post("/v1/multi-loan", json=who)
                ts = c.post("/v1/time-series", json={**who, "purpose": "CREDIT_REVIEW"})
                masked = mask_id(id_types[i], str(id_numbers[i]))
                if ml.status_code != 200 or ts.status_code != 200:
                    bad = ml if ml.status_code != 200 else ts
                    lines.append(f"{masked:<20} refused: {bad.json()['error']['code']}")
                    continue
                a = ml.json()["accounts"]
                grids = [x["grid"] for x in ts.json()["accounts"]]
                lines.append(
                    f"{masked:<20} {a['open_accounts']:>10} {a['open_institutions']:>12} "
                    f"{a['open_balance']:>14} {a['worst_dpd']['24m']:>13}  "
                    f"{_worst_status(grids)} ({len(grids)} accounts)"
                )
            batch = [
                {"id_type": id_types[i], "id_number": str(id_numbers[i]), "consent_ref": f"DB-{i}"}
                for i in range(0, len(id_types), max(1, len(id_types) // 50))
            ][:50]
            r = c.post("/v1/batch", json={"purpose": "LOAN_APPROVAL", "as_of": as_of,
                                          "borrowers": batch})  # fmt: skip
            job = r.json().get("job", {}) if r.status_code == 202 else {}
            deadline = time.monotonic() + 120
            while job and job["status"] not in ("done", "failed") and time.monotonic() < deadline:
                time.sleep(0.1)
                job = c.get(f"/v1/batch/{job['id']}").json()["job"]
            if job.get("status") == "done":
                rows = c.get(f"/v1/batch/{job['id']}/result", params={"format": "csv"}).text
                with_accounts = sum(
                    1 for row in rows.splitlines()[1:] if row.split(",")[4] not in ('"0"', "0")
                )
                batch_text = (
                    f"batch of {job['borrowers']}: {job['looked_up']} looked up, "
                    f"{with_accounts} with open accounts"
                )
            else:
                batch_text = f"batch job not done ({r.status_code}: {job.get('status')})"
    finally:
        service.stop()
        with registry_db.session(s.registry_url) as db:
            registry.revoke_api_key(db, key_id, actor=DEMO_ACTOR)
    summary = (
        f"{member}: {len(picks)} borrowers × 2 lookups, {batch_text} (API was at {service.url})"
    )
    return ApiDemo(member, service.url, summary, lines)


def upload_over_sftp(
    ctx: Context, wh: object, industry: object, files: list[Path]
) -> dict[str, dict]:
    """Give every member an SSH key, start the SFTP server and the loader in this process (it owns
    the warehouse), and let each member `jdx submit` its file; return the receipts by file."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from exchange import registry
    from exchange.registry import db as registry_db
    from ingest.service import LoaderService
    from ingest.sftp.client import submit
    from runtime.build import build_loader, build_sftp_server

    s = ctx.settings
    keys_dir = s.home / "demo" / "member-keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    members = sorted({f.parent.name for f in files})
    with registry_db.session(s.registry_url) as db:
        for code in members:
            key_file = keys_dir / f"{code}_ed25519"
            if not key_file.exists():
                key = Ed25519PrivateKey.generate()
                key_file.write_bytes(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.OpenSSH,
                        serialization.NoEncryption(),
                    )
                )
                key_file.chmod(0o600)
                public = key.public_key().public_bytes(
                    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
                )
                registry.add_ssh_key(db, code, public.decode() + f" {code}@demo", actor=DEMO_ACTOR)
    stop = threading.Event()
    loader = build_loader(ctx.settings, wh, stop)  # type: ignore[arg-type]
    loading = LoaderService(loader, threads=2, poll_interval=1.0)
    server = build_sftp_server(
        s, host="127.0.0.1", port=0, on_file_closed=loading.notify, on_file_renamed=loading.notify
    )
    known_hosts = keys_dir / "known_hosts"
    loading.start()
    server.start()
    host, port = server.address
    try:

        def send(path: Path) -> tuple[str, dict]:
            code = path.parent.name
            result = submit(
                path,
                member=code,
                key_path=keys_dir / f"{code}_ed25519",
                host=host,
                port=port,
                known_hosts=known_hosts,
                accept_new_host_key=True,
                timeout=300,
            )
            return path.name, result.receipt or {"status": "no receipt"}

        first = dict([send(files[0])])  # the first upload records the host key in known_hosts
        with ThreadPoolExecutor(max_workers=8) as pool:
            return first | dict(pool.map(send, files[1:]))
    finally:
        server.stop()
        loading.stop()
