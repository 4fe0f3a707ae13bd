"""The member registry against a real database: SQLite file by default, PostgreSQL by
JDX_TEST_REGISTRY_URL (see conftest.py). Covers members, SSH keys, API keys, users, schema
migrations and the errors' messages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy import Column, Integer, MetaData, inspect, select, text
from sqlalchemy.orm import Session

from exchange import audit
from exchange import registry as reg
from exchange.domain import ApiProduct, InstitutionType, MemberStatus
from exchange.errors import Conflict, InvalidInput, NotFound
from exchange.registry import db as registry_db
from exchange.registry import errors as E
from exchange.registry.models import Base

ACTOR = "tester"
ON_SERVER = bool(os.environ.get("JDX_TEST_REGISTRY_URL"))


def ssh_public(key: object | None = None, comment: str | None = "ops@cf001") -> str:
    key = key or ed25519.Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return pub.decode() + (f" {comment}" if comment else "")


def add(db: Session, code: str = "CF001", **kw: object) -> reg.MemberInfo:
    kw.setdefault("name", f"{code} Finance")
    kw.setdefault("type", InstitutionType.CONSUMER_FINANCE)
    return reg.add_member(db, code=code, actor=ACTOR, **kw)  # type: ignore[arg-type]


# --- members ------------------------------------------------------------------------------------


def test_add_get_list_filter_members(registry: str) -> None:
    with registry_db.session(registry) as db:
        a = add(db, "CF001", joined="2024-03-01")
        add(db, "BK002", type="bank")
        add(db, "MC003", type=InstitutionType.MICROLOAN)
    assert a.status is MemberStatus.ACTIVE and str(a.joined) == "2024-03-01"
    with registry_db.session(registry, readonly=True) as db:
        assert reg.get_member(db, "BK002").type is InstitutionType.BANK
        assert [m.code for m in reg.list_members(db)] == ["BK002", "CF001", "MC003"]
        assert [m.code for m in reg.list_members(db, type="MICROLOAN")] == ["MC003"]
        assert reg.list_members(db, status=MemberStatus.SUSPENDED) == []


def test_duplicate_code_is_a_conflict(registry: str) -> None:
    with registry_db.session(registry) as db:
        add(db, "CF001")
    with pytest.raises(Conflict) as err, registry_db.session(registry) as db:
        add(db, "CF001", name="Someone else")
    assert err.value.code == "REG002"
    assert "CF001" in err.value.message and "jdx member show CF001" in err.value.message


@pytest.mark.parametrize("code", ["cf001", "C1", "CF_001", "1ABC", "ABCDEFGHIJKLM", ""])
def test_bad_member_code_is_invalid(registry: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err, registry_db.session(registry) as db:
        add(db, code)
    assert err.value.code == "REG003" and repr(code) in err.value.message
    if code == "cf001":
        assert "did you mean CF001?" in err.value.message


def test_bad_type_name_or_date_is_invalid(registry: str) -> None:
    with pytest.raises(InvalidInput) as err, registry_db.session(registry) as db:
        add(db, "CF001", type="PAWNSHOP")
    assert err.value.code == "REG004"
    assert "'PAWNSHOP'" in err.value.message and "CONSUMER_FINANCE" in err.value.message
    with (
        pytest.raises(InvalidInput, match="not a date; use YYYY-MM-DD"),
        registry_db.session(registry) as db,
    ):
        add(db, "CF001", joined="2024-13-01")
    with (
        pytest.raises(InvalidInput, match="member name is required"),
        registry_db.session(registry) as db,
    ):
        add(db, "CF001", name="  ")


def test_unknown_member_names_the_command(registry: str) -> None:
    with pytest.raises(NotFound) as err, registry_db.session(registry, readonly=True) as db:
        reg.get_member(db, "ZZZ")
    assert err.value.code == "REG001"
    assert err.value.message == "member ZZZ not found; `jdx member list` shows the members"


def test_suspend_and_reinstate(registry: str) -> None:
    with registry_db.session(registry) as db:
        add(db)
        s = reg.suspend_member(db, "CF001", "late files", actor=ACTOR)
    assert s.status is MemberStatus.SUSPENDED and s.status_reason == "late files"
    with (
        pytest.raises(Conflict, match="already suspended") as err,
        registry_db.session(registry) as db,
    ):
        reg.suspend_member(db, "CF001", "again", actor=ACTOR)
    assert "jdx member reinstate CF001" in err.value.message
    with registry_db.session(registry) as db:
        r = reg.reinstate_member(db, "CF001", actor=ACTOR)
    assert r.status is MemberStatus.ACTIVE and r.status_reason is None
    with pytest.raises(Conflict, match="not SUSPENDED"), registry_db.session(registry) as db:
        reg.reinstate_member(db, "CF001", actor=ACTOR)
    with registry_db.session(registry, readonly=True) as db:
        actions = [e.action for e in audit.entries(db)]
    assert actions == ["member.add", "member.suspend", "member.reinstate"]


def test_failed_act_rolls_back_with_its_audit_entry(registry: str) -> None:
    with pytest.raises(RuntimeError), registry_db.session(registry) as db:
        add(db)
        raise RuntimeError("boom after the act")
    with registry_db.session(registry, readonly=True) as db:
        assert reg.list_members(db) == [] and audit.count(db) == 0


# --- SSH keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        ed25519.Ed25519PrivateKey.generate(),
        ec.generate_private_key(ec.SECP256R1()),
        rsa.generate_private_key(65537, 2048),
    ],
    ids=["ed25519", "ecdsa", "rsa2048"],
)
def test_parse_matches_ssh_keygen_fingerprint(tmp_path: Path, key: object) -> None:
    line = ssh_public(key)
    parsed = reg.parse_ssh_public_key(line + "\n")
    assert parsed.comment == "ops@cf001" and line.startswith(parsed.public_key)
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not installed: fingerprint not compared with OpenSSH")
    (tmp_path / "k.pub").write_text(line + "\n")
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(tmp_path / "k.pub")], capture_output=True, text=True, check=True
    ).stdout
    assert out.split()[1] == parsed.fingerprint


def test_parse_rejects_garbage_weak_and_private_keys() -> None:
    for bad, expected in [
        ("hello world", "not a valid OpenSSH public key"),
        ("ssh-ed25519 AAAA!!!notbase64", "not a valid OpenSSH public key"),
        ("", "received 0 non-empty lines"),
        (ssh_public() + "\n" + ssh_public(), "received 2 non-empty lines"),
        ("---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----", "ssh-keygen -i"),
        (ssh_public(rsa.generate_private_key(65537, 1024)), "1024 bits is too short"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "DSA (ssh-dss) keys are not accepted"),
    ]:
        with pytest.raises(E.InvalidSshKey, match=re.escape(expected)):
            reg.parse_ssh_public_key(bad)
    private = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(E.InvalidSshKey, match="this is a private key") as err:
        reg.parse_ssh_public_key(private)
    body = private.splitlines()[1]
    assert body[:20] not in err.value.message


def test_ssh_keys_add_remove_and_active_only_for_active_members(registry: str) -> None:
    line = ssh_public()
    with registry_db.session(registry) as db:
        add(db, "CF001")
        add(db, "BK002", type="BANK")
        fp = reg.add_ssh_key(db, "CF001", line, actor=ACTOR)
    assert fp.startswith("SHA256:")
    with pytest.raises(Conflict) as err, registry_db.session(registry) as db:
        reg.add_ssh_key(db, "BK002", line, actor=ACTOR)
    assert err.value.code == "REG012" and "registered to member CF001" in err.value.message
    with registry_db.session(registry) as db:
        [k] = reg.active_ssh_keys(db, "CF001")
        assert (k.fingerprint, k.openssh) == (fp, line)
        assert reg.active_ssh_keys(db, "BK002") == reg.active_ssh_keys(db, "NOSUCH") == []
        reg.suspend_member(db, "CF001", "review", actor=ACTOR)
        assert reg.active_ssh_keys(db, "CF001") == []
        reg.reinstate_member(db, "CF001", actor=ACTOR)
        assert len(reg.active_ssh_keys(db, "CF001")) == 1
        removed = reg.remove_ssh_key(db, fp.removeprefix("SHA256:"), actor=ACTOR)
        assert removed.member_code == "CF001" and removed.removed_at is not None
        assert reg.active_ssh_keys(db, "CF001") == []
    with pytest.raises(NotFound) as err2, registry_db.session(registry) as db:
        reg.remove_ssh_key(db, fp, actor=ACTOR)
    assert err2.value.code == "REG011" and "jdx key list" in err2.value.message
    with registry_db.session(registry) as db:  # a removed key may be registered again
        assert reg.add_ssh_key(db, "BK002", line, actor=ACTOR) == fp
        history = reg.list_ssh_keys(db, include_removed=True)
    assert [(k.member_code, k.removed_at is None) for k in history] == [
        ("BK002", True),
        ("CF001", False),
    ]


# --- API keys -----------------------------------------------------------------------------------


def test_api_key_issue_authenticate_revoke(registry: str) -> None:
    with registry_db.session(registry) as db:
        add(db)
        key_id, token = reg.issue_api_key(
            db, "CF001", ["multi_loan", ApiProduct.TIME_SERIES], "risk engine", actor=ACTOR
        )
    assert re.fullmatch(rf"jdx_{key_id}_[a-z2-7]{{32}}", token)
    with registry_db.session(registry, readonly=True) as db:
        caller = reg.authenticate_api_key(db, token)
        assert caller == reg.ApiCaller(
            key_id,
            "CF001",
            InstitutionType.CONSUMER_FINANCE,
            frozenset({ApiProduct.MULTI_LOAN, ApiProduct.TIME_SERIES}),
        )
        wrong = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
        for bad in [wrong, "jdx_000000000000_" + "a" * 32, "garbage", "", token + "x"]:
            assert reg.authenticate_api_key(db, bad) is None
    with registry_db.session(registry) as db:
        info = reg.revoke_api_key(db, key_id, actor=ACTOR)
        assert info.revoked_at is not None and not info.active
        assert reg.authenticate_api_key(db, token) is None
    with pytest.raises(Conflict) as err, registry_db.session(registry) as db:
        reg.revoke_api_key(db, key_id, actor=ACTOR)
    assert err.value.code == "REG021"
    with pytest.raises(NotFound, match="jdx key list"), registry_db.session(registry) as db:
        reg.revoke_api_key(db, "ffffffffffff", actor=ACTOR)


def test_api_key_of_suspended_member_does_not_authenticate(registry: str) -> None:
    with registry_db.session(registry) as db:
        add(db)
        _, token = reg.issue_api_key(db, "CF001", ["batch"], actor=ACTOR)
        reg.suspend_member(db, "CF001", "unpaid invoices", actor=ACTOR)
        assert reg.authenticate_api_key(db, token) is None
        with pytest.raises(Conflict, match="ACTIVE members only"):
            reg.issue_api_key(db, "CF001", ["batch"], actor=ACTOR)
        reg.reinstate_member(db, "CF001", actor=ACTOR)
        caller = reg.authenticate_api_key(db, token)
    assert caller is not None and caller.products == {ApiProduct.BATCH}


def test_api_key_products_are_validated(registry: str) -> None:
    with registry_db.session(registry) as db:
        add(db)
    for products, expected in [([], "at least one product"), (["credit_score"], "'credit_score'")]:
        with pytest.raises(InvalidInput, match=expected), registry_db.session(registry) as db:
            reg.issue_api_key(db, "CF001", products, actor=ACTOR)


def test_token_is_never_stored(registry: str) -> None:
    with registry_db.session(registry) as db:
        add(db)
        key_id, token = reg.issue_api_key(db, "CF001", ["multi_loan"], "x", actor=ACTOR)
    secret = token.rsplit("_", 1)[1]
    with registry_db.session(registry, readonly=True) as db:  # every value in every table
        dump = repr(
            [
                db.execute(text(f"SELECT * FROM {t}")).all()
                for t in inspect(db.get_bind()).get_table_names()
            ]
        )
        assert key_id in dump and secret not in dump and token not in dump
        assert "secret" not in audit.canonical_json([e.details for e in audit.entries(db)])
    if registry.startswith("sqlite"):  # and in no byte of the database files (WAL included)
        registry_db.dispose(registry)
        path = Path(registry.removeprefix("sqlite:///"))
        files = list(path.parent.glob(path.name + "*"))
        assert files and all(secret.encode() not in f.read_bytes() for f in files)


# --- users --------------------------------------------------------------------------------------


def test_users_roles_and_institutions(registry: str) -> None:
    with registry_db.session(registry) as db:
        add(db)
        reg.add_user(db, "wang.li", "admin", actor=ACTOR)
        reg.add_user(db, "chen", reg.UserRole.ANALYST, "CF001", actor=ACTOR)
        users = reg.list_users(db)
        assert reg.get_user(db, "chen").institution == "CF001"
    assert [(u.username, u.role.value, u.institution) for u in users] == [
        ("chen", "analyst", "CF001"),
        ("wang.li", "admin", None),
    ]
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"username": "ops", "role": "reviewer", "institution": "CF001"}, E.InvalidUser, "staff"),
        ({"username": "ana", "role": "analyst"}, E.InvalidUser, "--institution CODE"),
        ({"username": "Bad Name", "role": "admin"}, E.InvalidUser, "'Bad Name' is not allowed"),
        ({"username": "ops", "role": "root"}, E.InvalidValue, "admin, operator, reviewer"),
        ({"username": "ana", "role": "analyst", "institution": "ZZZ"}, NotFound, "ZZZ"),
        ({"username": "chen", "role": "operator"}, E.UserExists, "exists already"),
    ]
    for kwargs, error, expected in cases:
        with pytest.raises(error, match=re.escape(expected)), registry_db.session(registry) as db:
            reg.add_user(db, actor=ACTOR, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="jdx user list"), registry_db.session(registry) as db:
        reg.get_user(db, "nobody")


def test_every_admin_act_is_audited(registry: str) -> None:
    with registry_db.session(registry) as db:
        add(db)
        fp = reg.add_ssh_key(db, "CF001", ssh_public(), actor="ops")
        key_id, _ = reg.issue_api_key(db, "CF001", ["usage"], actor="ops")
        reg.revoke_api_key(db, key_id, actor="ops")
        reg.remove_ssh_key(db, fp, actor="ops", code="CF001")
        reg.add_user(db, "li", "operator", actor="ops")
    with registry_db.session(registry, readonly=True) as db:
        rows = [(e.action, e.object) for e in audit.entries(db)]
        assert audit.verify(db).ok
    assert rows == [
        ("member.add", "member:CF001"),
        ("key.add_ssh", f"ssh_key:{fp}"),
        ("key.issue_api", f"api_key:{key_id}"),
        ("key.revoke_api", f"api_key:{key_id}"),
        ("key.remove_ssh", f"ssh_key:{fp}"),
        ("user.add", "user:li"),
    ]


# --- database, migrations -----------------------------------------------------------------------


def test_uninitialised_registry_is_reported_not_created(registry_url: str) -> None:
    with pytest.raises(E.RegistryNotInitialised) as err, registry_db.session(registry_url):
        pass
    assert err.value.message.endswith("; run `jdx init`")
    if registry_url.startswith("sqlite"):
        assert not Path(registry_url.removeprefix("sqlite:///")).exists()


def test_urls_are_shown_without_password() -> None:
    url = "postgresql+psycopg://jdx:s3cret-pw@db.example:5432/jdx"
    assert registry_db.mask_url(url) == "postgresql+psycopg://jdx:***@db.example:5432/jdx"
    with pytest.raises(Exception) as err:
        registry_db.engine("postgresql+nosuchdriver://jdx:s3cret-pw@db.example/jdx")
    assert "s3cret" not in str(err.value) and "driver" in str(err.value)


def test_upgrade_twice_is_a_no_op(registry_url: str) -> None:
    head = registry_db.head_revision()
    assert registry_db.upgrade(registry_url) == head
    with registry_db.engine(registry_url).connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
    assert registry_db.upgrade(registry_url) == head
    with registry_db.engine(registry_url).connect() as conn:
        assert sorted(inspect(conn).get_table_names()) == tables
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_upgrade_from_first_revision_keeps_rows(registry_url: str) -> None:
    assert registry_db.upgrade(registry_url, "0001") == "0001"
    with (
        pytest.raises(E.RegistryOutdated, match=r"revision 0001.*run `jdx init`"),
        registry_db.session(registry_url),
    ):
        pass
    line = ssh_public()
    # Write the way the 0001-era code did: services touching only 0001's tables.
    with Session(registry_db.engine(registry_url)) as db, db.begin():
        add(db, "CF001", joined="2023-01-02")
        fp = reg.add_ssh_key(db, "CF001", line, actor=ACTOR)
        assert "api_keys" not in inspect(db.connection()).get_table_names()
    assert registry_db.upgrade(registry_url) == registry_db.head_revision()
    with registry_db.session(registry_url) as db:
        assert str(reg.get_member(db, "CF001").joined) == "2023-01-02"
        assert [k.fingerprint for k in reg.active_ssh_keys(db, "CF001")] == [fp]
        _, token = reg.issue_api_key(db, "CF001", ["batch"], actor=ACTOR)
        reg.add_user(db, "chen", "analyst", "CF001", actor=ACTOR)
    with registry_db.session(registry_url, readonly=True) as db:
        assert reg.authenticate_api_key(db, token) is not None
        result = audit.verify(db)
    assert result.ok and result.checked == 4


def test_downgrade_to_first_revision_and_back(registry: str) -> None:
    assert registry_db.downgrade(registry, "0001") == "0001"
    with registry_db.engine(registry).connect() as conn:
        assert "users" not in inspect(conn).get_table_names()
    assert registry_db.upgrade(registry) == registry_db.head_revision()


def test_models_match_migrations(registry: str) -> None:
    with registry_db.engine(registry).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
        # the comparison itself works: a column the migrations lack is reported
        changed = MetaData(naming_convention=Base.metadata.naming_convention)
        for table in Base.metadata.tables.values():
            table.to_metadata(changed)
        changed.tables["users"].append_column(Column("extra", Integer))
        assert any(d[0] == "add_column" for d in compare_metadata(ctx, changed))


@pytest.mark.skipif(ON_SERVER, reason="SQLite-specific pragmas")
def test_sqlite_connections_use_wal_and_foreign_keys(registry: str) -> None:
    with registry_db.engine(registry).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    with registry_db.session(registry) as db:
        assert db.scalar(select(text("1"))) == 1
