"""The ``jdx`` command line as a user meets it: every command has help; errors are one line."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from cli import _register, cli

_register()


def walk(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if isinstance(command, click.Group):
            found.extend(walk(command, (*path, name)))
    return found


COMMANDS = walk(cli)


def test_top_level_help_lists_the_foundation_commands():
    out = CliRunner().invoke(cli, ["--help"]).output
    for name in (
        "init",
        "config",
        "member",
        "key",
        "user",
        "audit",
        "warehouse",
        "simulate",
        "demo",
    ):
        assert f"  {name} " in out, name


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_useful_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    body = result.output.split("\n", 2)[-1].strip()
    assert len(body) > 20, f"jdx {' '.join(path)} --help says nothing"


def jdx(*args: str, home) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env["JDX_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("member", "show", "NOPE"), "jdx init"),  # registry not initialised yet
        (("config", "show"), None),
        (("simulate", "--members", "2", "--out", "x"), "members"),
        (("nonsense",), "No such command"),
        (("ingest", "purge-archive", "--dry-run"), "jdx init"),
        (("ingest", "archive", "open", "ACME", "ACME_20250131_001", "--out", "x"), "jdx init"),
        (("ingest", "archive", "open", "acme", "ACME_20250131_001", "--out", "x"), "member code"),
    ],
)
def test_errors_are_one_clear_line_without_traceback(tmp_path, args, needle):
    result = jdx(*args, home=tmp_path / "home")
    if needle is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert needle in result.stderr
    assert len([line for line in lines if line.lower().startswith(("error", "internal"))]) == 1


def test_bad_setting_is_reported_with_where_it_was_looked(tmp_path):
    env_home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "config", "show"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("JDX_")},
            "JDX_HOME": str(env_home),
            "JDX_SIM_SEED": "seven",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "JDX_SIM_SEED" in result.stderr and "Traceback" not in result.stderr
