"""A data directory for the portal and console tests (and the benchmark's small case).

:func:`prepare` publishes the public pages' releases (``dashboard_data.publish_releases``), then
registers two members, ALPHA and BETA, with an analyst each and a staff admin (passwords set,
argon2id), gives BETA an API key and an SSH key (the things ALPHA must never reach), drops a
``loans/1`` file of yesterday (China time) with a few faulty records into each member's inbox and
runs the real loader over them (``jdx ingest process --once``; ALPHA also sends a file four
days late): submissions, receipts,
rejections and DQ rows exist as they would after a day of uploads.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dashboard_data import JDX, environment, publish_releases, settings_for
from loanfiles import RIC, RIC_2, control_for, csv_bytes, make_ric, record

PASSWORD = {"alpha": "alpha-password-1", "beta": "beta-password-22", "staff": "staff-password-3",
            "gone": "gone-password-44"}  # fmt: skip
#: ``gone`` is a second analyst of ALPHA whose row a test deletes from the registry
USERS = {"alpha": "alpha.analyst", "beta": "beta.analyst", "staff": "ops.admin",
         "gone": "gone.analyst"}  # fmt: skip


def ssh_public_key(comment: str) -> str:
    """A fresh Ed25519 public key as an OpenSSH line."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    return f"{raw.decode()} {comment}"


@dataclass
class Prepared:
    home: Path
    releases: Path
    beta_key_id: str
    beta_ssh: str
    beta_load_id: str
    alpha_load_id: str


def _file(code: str, day: dt.date, faults: int, seq: int = 1) -> tuple[str, bytes, bytes]:
    stamp = f"{day:%Y%m%d}"
    records = []
    for i in range(6):
        body = f"11010519900307{i:03d}"
        rec = record(
            account_id=f"{code}-{seq}-{i:03d}",
            id_number=make_ric(body) if i > 1 else (RIC if i == 0 else RIC_2),
            as_of_date=day.isoformat(),
            opened_date=(day - dt.timedelta(days=200)).isoformat(),
            maturity_date=(day + dt.timedelta(days=200)).isoformat(),
        )
        if i < faults:
            rec["five_class"] = "9"  # not a five-class code: the record is rejected
        records.append(rec)
    name = f"{code}_{stamp}_{seq:03d}.loans.csv"
    data = csv_bytes(records)
    return name, data, control_for(name, data, len(records), as_of=day.isoformat())


def prepare(home: Path) -> Prepared:
    from exchange import registry
    from exchange.registry import db as registry_db
    from exchange.registry.users import set_password
    from ingest.areas import ensure_area
    from ingest.settings import IngestSettings

    releases = publish_releases(home)
    yesterday = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date() - dt.timedelta(days=1)
    with settings_for(home) as settings:
        with registry_db.session(settings.registry_url) as db:
            for code, kind in (("ALPHA", "MICROLOAN"), ("BETA", "CONSUMER_FINANCE")):
                registry.add_member(db, code=code, name=f"{code.title()} Finance", type=kind,
                                    joined=dt.date(2024, 1, 1), actor="test")  # fmt: skip
            registry.add_user(db, USERS["alpha"], "analyst", "ALPHA", actor="test")
            registry.add_user(db, USERS["beta"], "analyst", "BETA", actor="test")
            registry.add_user(db, USERS["staff"], "admin", actor="test")
            registry.add_user(db, USERS["gone"], "analyst", "ALPHA", actor="test")
            for who, name in USERS.items():
                set_password(db, name, PASSWORD[who], actor="test")
            key_id, _token = registry.issue_api_key(db, "BETA", ["multi_loan"], actor="test")
            beta_ssh = registry.add_ssh_key(db, "BETA", ssh_public_key("beta@test"), actor="test")
        root = settings.section(IngestSettings).members_root
        assert root is not None
        late = yesterday - dt.timedelta(days=4)  # sent today: more than timely_days (2) late
        for code, day, faults, seq in (("ALPHA", yesterday, 2, 1), ("BETA", yesterday, 1, 1),
                                       ("ALPHA", late, 0, 2)):  # fmt: skip
            inbox = ensure_area(root, code).inbox
            name, data, ctl = _file(code, day, faults, seq)
            (inbox / name).write_bytes(data)
            (inbox / name.replace(".loans.csv", ".ctl")).write_bytes(ctl)
        registry_db.dispose(settings.registry_url)
    done = subprocess.run([*JDX, "ingest", "process", "--once"], env=environment(home),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    with settings_for(home) as settings, registry_db.session(settings.registry_url) as db:
        loads = {s.member_code: s.load_id for s in registry.list_submissions(db) if s.records}
        registry_db.dispose(settings.registry_url)
    return Prepared(home, releases, key_id, beta_ssh, loads["BETA"], loads["ALPHA"])
