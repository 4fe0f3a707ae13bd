"""`jdx member|key|user|audit` against a real registry in a temporary JDX_HOME.

In-process tests run the commands in a click group built here that, like `cli.main`,
turns a JdxError into one line `error [CODE]: message` and its exit status. One test runs the
installed `jdx` console script in a subprocess; it needs every CLI module that
`cli._register` imports and is skipped until they all exist.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import text

from cli import Context
from cli.registry import COMMANDS
from exchange.errors import JdxError
from exchange.registry import db as registry_db
from exchange.settings import Settings


class Harness(click.Group):
    """The registry's commands under a root group that reports errors as `main()` does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JdxError as exc:
            click.echo(f"error [{exc.code}]: {exc.message}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=Harness)
@click.pass_context
def root(ctx: click.Context) -> None:
    ctx.obj = Context(None)


for _command in COMMANDS:
    root.add_command(_command)


def jdx(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(root, list(args), input=input)


def ok(*args: str) -> str:
    result = jdx(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def fails(code: str, *args: str, exit_code: int = 1) -> str:
    result = jdx(*args)
    assert result.exit_code == exit_code, (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error [{code}]: "), result.stderr
    return lines[0]


def pubkey_file(tmp_path: Path) -> Path:
    pub = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    path = tmp_path / "id_ed25519.pub"
    path.write_bytes(pub + b" sftp@cf001\n")
    return path


def test_every_command_has_help() -> None:
    def walk(cmd: click.Command, path: list[str]) -> None:
        result = jdx(*path, "--help")
        assert result.exit_code == 0 and "Usage:" in result.stdout
        assert cmd.help and len(cmd.help.split()) >= 4, path
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    for command in COMMANDS:
        walk(command, [command.name or ""])


def test_uninitialised_registry_says_run_jdx_init(jdx_home: Settings, registry_url: str) -> None:
    line = fails("REG090", "member", "list", exit_code=2)
    assert line.endswith("; run `jdx init`") and "registry not initialised at " in line
    assert not (jdx_home.home / "registry.sqlite3").exists()


def test_registry_url_password_is_never_printed(
    jdx_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JDX_REGISTRY_URL", "postgresql+nosuchdriver://jdx:s3cret@db/jdx")
    line = fails("CFG001", "member", "list", exit_code=2)
    assert "s3cret" not in line and "jdx:***@db" in line


def test_member_lifecycle(registry: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JDX_ACTOR", "wang")
    assert "added member CF001" in ok(
        "member", "add", "CF001", "--name", "Alpha Consumer Finance", "--type", "consumer_finance"
    )
    ok("member", "add", "BK002", "--name", "Beta Bank", "--type", "BANK", "--joined", "2024-02-29")
    listing = ok("member", "list")
    assert re.search(r"^BK002\s+BANK\s+ACTIVE\s+2024-02-29\s+Beta Bank$", listing, re.M)
    assert [m["code"] for m in json.loads(ok("member", "list", "--json", "--type", "BANK"))] == [
        "BK002"
    ]
    assert "suspended member CF001: late files" in ok(
        "member", "suspend", "CF001", "--reason", "late files", "--actor", "li"
    )
    assert json.loads(ok("member", "list", "--status", "SUSPENDED", "--json"))[0]["code"] == "CF001"
    assert "SUSPENDED (late files)" in ok("member", "show", "CF001")
    fails("REG005", "member", "suspend", "CF001", "--reason", "again")
    ok("member", "reinstate", "CF001")
    with registry_db.session(registry, readonly=True) as db:
        actors = [r[0] for r in db.execute(text("SELECT actor FROM audit_entries ORDER BY seq"))]
    assert actors == ["wang", "wang", "li", "wang"]


def test_member_errors_are_one_line(registry: str) -> None:
    assert fails("REG001", "member", "show", "ZZZ") == (
        "error [REG001]: member ZZZ not found; `jdx member list` shows the members"
    )
    assert "did you mean CF001?" in fails(
        "REG003", "member", "add", "cf001", "--name", "x", "--type", "BANK"
    )
    ok("member", "add", "CF001", "--name", "x", "--type", "BANK")
    fails("REG002", "member", "add", "CF001", "--name", "x", "--type", "BANK")
    assert "allowed: CONSUMER_FINANCE, MICROLOAN" in fails(
        "REG004", "member", "add", "CF002", "--name", "x", "--type", "PAWNSHOP"
    )
    assert "allowed: multi_loan, time_series" in fails(
        "REG004", "key", "issue-api", "CF001", "--product", "credit_score"
    )
    fails("REG004", "member", "list", "--status", "GONE")
    fails("REG004", "user", "add", "li", "--role", "root")


def test_keys_and_users(registry: str, tmp_path: Path) -> None:
    ok("member", "add", "CF001", "--name", "Alpha", "--type", "CONSUMER_FINANCE")
    out = ok("key", "add-ssh", "CF001", str(tmp_path / pubkey_file(tmp_path)))
    fingerprint = out.split()[3]
    assert fingerprint.startswith("SHA256:")
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("not a key\n")
    assert "expected one line" in fails("REG010", "key", "add-ssh", "CF001", str(garbage))

    issued = jdx("key", "issue-api", "CF001", "--product", "multi_loan", "--product", "batch")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    key_id = re.fullmatch(r"jdx_([0-9a-f]{12})_[a-z2-7]{32}", token).group(1)  # type: ignore[union-attr]
    assert "will not be shown again" in issued.stderr and key_id in issued.stderr

    shown = ok("member", "show", "CF001")
    assert fingerprint in shown and key_id in shown and "batch,multi_loan" in shown
    listed = ok("key", "list", "--json")
    assert token.rsplit("_", 1)[1] not in listed + shown
    assert json.loads(listed)["api_keys"][0]["key_id"] == key_id

    assert f"revoked API key {key_id}" in ok("key", "revoke", key_id)
    fails("REG021", "key", "revoke", key_id)
    assert key_id not in ok("key", "list", "CF001")
    assert key_id in ok("key", "list", "CF001", "--all")
    assert "removed SSH key" in ok("key", "remove-ssh", fingerprint)
    fails("REG011", "key", "remove-ssh", fingerprint)

    assert "added user chen (analyst of member CF001)" in ok(
        "user", "add", "chen", "--role", "analyst", "--institution", "CF001"
    )
    ok("user", "add", "wang", "--role", "admin")
    fails("REG031", "user", "add", "li", "--role", "analyst")
    assert [u["username"] for u in json.loads(ok("user", "list", "--json"))] == ["chen", "wang"]
    assert re.search(r"^chen\s+analyst\s+CF001", ok("user", "list"), re.M)


def test_audit_show_and_verify(registry: str) -> None:
    ok("member", "add", "CF001", "--name", "Alpha", "--type", "BANK")
    ok("member", "suspend", "CF001", "--reason", "audit")
    ok("member", "reinstate", "CF001")
    verified = ok("audit", "verify")
    assert re.fullmatch(r"ok: 3 entries, head [0-9a-f]{64}; no anchor yet .*\n", verified)
    shown = ok("audit", "show", "--limit", "2")
    assert "member.suspend" in shown and "member.reinstate" in shown and "member.add" not in shown
    entries = json.loads(ok("audit", "show", "--json"))
    assert [e["seq"] for e in entries] == [1, 2, 3] and entries[1]["details"] == {"reason": "audit"}

    with registry_db.engine(registry).begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'someone' WHERE seq = 2"))
    line = fails("AUD001", "audit", "verify")
    assert "broken at seq 2: hash mismatch" in line


@pytest.mark.skipif(
    any(importlib.util.find_spec(f"cli.{m}") is None for m in ("warehouse", "simulate")),
    reason="the full `jdx` CLI needs cli.warehouse and cli.simulate",
)
def test_installed_jdx_prints_one_error_line(registry: str, jdx_home: Settings) -> None:
    exe = shutil.which("jdx", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the jdx console script is not installed in this environment")
    env = {**os.environ, "JDX_ACTOR": "ci"}
    added = subprocess.run(
        [exe, "member", "add", "CF001", "--name", "Alpha", "--type", "BANK"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    missing = subprocess.run(
        [exe, "member", "show", "ZZZ"], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert missing.stderr == (
        "error [REG001]: member ZZZ not found; `jdx member list` shows the members\n"
    )
