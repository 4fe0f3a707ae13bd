"""The README's contract: two set-up commands, CI runs both, the CLI table is true."""

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


def test_ci_runs_the_readme_run_command_in_a_fresh_clone_then_the_test_command():
    run_command, test_command = first_code_block((ROOT / "README.md").read_text())
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [line.strip() for line in ci.splitlines() if line.strip()]
    assert lines[-1] == test_command, "CI must end with the README's test command"
    clone, run = ci.index("git clone"), ci.index(f"&& env -u JDX_HOME -u JDX_CONFIG {run_command})")
    assert clone < run < ci.rindex(test_command), "CI must run the demo in its own clone first"


def test_runtime_dependencies_cover_every_import_of_the_package_code():
    """A module the run command imports but only the test extra installs fails a fresh clone's
    demo (it happened with httpx): no package module may import a test-only dependency."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    test_only = {
        re.split(r"[<>=\[ ]", d)[0].lower() for d in project["optional-dependencies"]["test"]
    } - runtime
    modules = {"pillow": "PIL"}
    packages = ["exchange", "ingest", "warehouse", "products", "reports", "dashboards", "simulator"]
    offenders = []
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for dist in test_only:
                name = modules.get(dist, dist.replace("-", "_"))
                if re.search(rf"^\s*(import|from) {re.escape(name)}\b", text, re.M):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, offenders


def test_every_command_in_the_readme_table_exists():
    from cli import _register, cli

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
