"""``[reports]`` settings and the ``jdx report`` commands' contract: help, defaults, one-line
errors. Building real releases is tested in ``test_reports_release.py``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import _register, cli
from exchange.errors import ConfigError
from exchange.settings import Settings
from reports.disclosure import Rule
from reports.errors import BadMonth
from reports.labels import AGE_BANDS, SIZE_BANDS, label
from reports.months import add_months, months_between, parse_month, quarter_key
from reports.settings import ReportSettings
from runtime.config import load as load_settings
from warehouse import sqlfiles


def test_report_settings_defaults_and_overrides(
    jdx_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = jdx_home.section(ReportSettings)
    assert reports.releases_dir == jdx_home.home / "releases"
    assert (reports.min_institutions, reports.max_share) == (5, 0.25)
    assert Rule.of(reports.min_institutions, reports.max_share) == Rule()
    monkeypatch.setenv("JDX_REPORTS_MIN_INSTITUTIONS", "7")
    monkeypatch.setenv("JDX_REPORTS_RELEASES_DIR", "published")
    s = load_settings()
    assert s.section(ReportSettings).min_institutions == 7
    assert s.section(ReportSettings).releases_dir == s.home / "published"
    monkeypatch.setenv("JDX_REPORTS_MAX_SHARE", "1.5")
    with pytest.raises(ConfigError, match=r"reports\.max_share.*JDX_REPORTS_MAX_SHARE"):
        load_settings()
    docs = jdx_home.describe()["reports"]
    assert all(text for text in docs.values()), docs


def test_months() -> None:
    assert parse_month("2026-02") == dt.date(2026, 2, 1)
    for bad in ("2026-13", "2026-2", "26-02", "2026-02-01"):
        with pytest.raises(BadMonth, match="YYYY-MM"):
            parse_month(bad)
    assert add_months(dt.date(2025, 11, 1), 3) == dt.date(2026, 2, 1)
    assert add_months(dt.date(2025, 1, 1), -1) == dt.date(2024, 12, 1)
    assert months_between(dt.date(2024, 11, 1), dt.date(2026, 10, 1)) == 23
    assert quarter_key(dt.date(2026, 8, 1)) == "2026-Q3"


def test_every_band_code_in_the_queries_has_a_label() -> None:
    text = sqlfiles.read_text("queries", "report_segments.sql")
    for code in (*AGE_BANDS, *SIZE_BANDS):
        assert f"'{code}'" in text
        assert label("age_band" if code in AGE_BANDS else "size_band", code).zh != code
    assert label("province", "44").zh == "广东" and label("province", "unknown").en == "Unknown"


def test_report_commands_have_help() -> None:
    _register()
    runner = CliRunner()
    for args in (["report"], ["report", "build"], ["report", "list"], ["report", "verify"]):
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, result.output
    assert "--month" in runner.invoke(cli, ["report", "build", "--help"]).output


def test_list_without_releases(jdx_home: Settings) -> None:
    _register()
    result = CliRunner().invoke(cli, ["report", "list"])
    assert result.exit_code == 0
    assert "no releases in" in result.output and "jdx report build" in result.output


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from cli import main

    with pytest.raises(SystemExit) as stop, pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.argv", ["jdx", *args])
        main()
    return int(stop.value.code or 0), capsys.readouterr().err


def test_build_errors_are_one_line(
    jdx_home: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run_main(["report", "build", "--month", "2026-13"], capsys)
    assert code != 0 and err.count("\n") == 1
    assert "error [REP002]" in err and "YYYY-MM" in err
    code, err = run_main(["init"], capsys)
    assert code == 0, err
    code, err = run_main(["report", "build", "--month", "2026-01"], capsys)
    assert code != 0 and err.count("\n") == 1, err
    assert "error [REP001]" in err and "no account states for 2026-01" in err
    code, err = run_main(["report", "verify", "2026-01"], capsys)
    assert code != 0 and "no release 2026-01" in err
