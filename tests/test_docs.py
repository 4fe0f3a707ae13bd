"""The README's contract: two set-up commands, CI runs the test one, the CLI table is true."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


def first_code_block(text: str) -> list[str]:
    block = re.search(r"```[a-z]*\n(.*?)```", text, re.S)
    assert block, "README.md has no code block"
    return [
        line.split("#")[0].strip()
        for line in block.group(1).splitlines()
        if line.split("#")[0].strip()
    ]


def test_readme_opens_with_exactly_two_commands():
    commands = first_code_block((ROOT / "README.md").read_text())
    assert len(commands) == 2, commands
    for command in commands:
        script = ROOT / command.split()[-1]
        assert script.exists(), f"{command}: {script} missing"


def test_ci_runs_the_readme_test_command():
    test_command = first_code_block((ROOT / "README.md").read_text())[1]
    ci_lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "set ", "cd "))
    ]
    assert ci_lines == [test_command]


def test_every_command_in_the_readme_table_exists():
    from exchange.cli import _register, cli

    _register()
    table = re.findall(
        r"^\| `jdx ([a-z-]+)(?: ([a-z/-]+))?", (ROOT / "README.md").read_text(), re.M
    )
    assert table
    runner = CliRunner()
    for group, subs in table:
        assert group in cli.commands, f"jdx {group} is in README.md but not in the CLI"
        for sub in (subs or "").split("/"):
            if sub and not sub.startswith("-"):
                args = [group, sub, "--help"]
                result = runner.invoke(cli, args)
                assert result.exit_code == 0, (args, result.output)
