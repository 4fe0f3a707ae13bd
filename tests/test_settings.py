"""Settings: environment beats file beats defaults; secrets masked; errors name every place."""

from __future__ import annotations

import os
import stat

import pytest

from exchange.errors import ConfigError
from exchange.keyfiles import ensure_secrets, load_archive_keys, load_pepper, load_signing_key
from ingest.settings import IngestSettings
from runtime.config import load as load_settings
from simulator.settings import SimulatorSettings
from warehouse.settings import WarehouseSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("JDX_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_run_embedded_under_one_home(tmp_path):
    s = load_settings()
    assert s.home == tmp_path / "jdx-data"
    assert s.registry_url == f"sqlite:///{tmp_path}/jdx-data/registry.sqlite3"
    assert s.section(WarehouseSettings).url == f"chdb://{tmp_path}/jdx-data/warehouse"
    assert s.section(WarehouseSettings).database == "jdx"
    assert s.config_file is None


def test_environment_beats_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "jdx.toml"
    cfg.write_text('home = "h1"\n[warehouse]\ndatabase = "fromfile"\n[simulator]\nseed = 3\n')
    monkeypatch.setenv("JDX_CONFIG", str(cfg))
    monkeypatch.setenv("JDX_WAREHOUSE_DATABASE", "fromenv")
    s = load_settings()
    assert s.section(WarehouseSettings).database == "fromenv"
    assert s.section(SimulatorSettings).seed == 3
    assert s.home == tmp_path / "h1"
    assert s.config_file == cfg


def test_home_config_file_is_found(tmp_path, monkeypatch):
    home = tmp_path / "data"
    home.mkdir()
    (home / "jdx.toml").write_text("[simulator]\nmembers = 12\n")
    monkeypatch.setenv("JDX_HOME", str(home))
    assert load_settings().section(SimulatorSettings).members == 12


def test_bad_value_names_every_place_looked(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[simulator]\nmembers = 0\n")
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    msg = e.value.message
    assert "simulator.members" in msg
    assert "JDX_SIM_MEMBERS" in msg and "[simulator] members" in msg and str(cfg) in msg


def test_unknown_key_and_bad_dsn_are_clear(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[warehose]\ndsn='x'\n")
    with pytest.raises(ConfigError, match=r"unknown key.*warehose"):
        load_settings(cfg)
    monkeypatch.setenv("JDX_WAREHOUSE_DSN", "mysql://x")
    with pytest.raises(ConfigError, match=r"chdb:///, http:// or https://"):
        load_settings()


def test_secrets_are_masked_in_effective_settings(monkeypatch):
    monkeypatch.setenv("JDX_WAREHOUSE_DSN", "https://reader:s3cret@ch.internal:8443/")
    monkeypatch.setenv("JDX_PEPPER", "ab" * 32)
    eff = load_settings().effective()
    text = repr(eff)
    assert "s3cret" not in text and "ab" * 32 not in text
    assert eff["warehouse"]["dsn"] == "https://reader:***@ch.internal:8443/"
    assert eff["secrets"]["pepper"] == "*** (set)"


def test_generated_secrets_are_private_and_stable(tmp_path):
    s = load_settings()
    created = ensure_secrets(s)
    assert {p.name for p in created} == {
        "pepper",
        "signing_key.pem",
        "archive_key",
        "admin_token",
        "session_secret",
    }
    for p in created:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert stat.S_IMODE(s.secrets_dir.stat().st_mode) == 0o700
    pepper = load_pepper(s)
    assert len(pepper) == 32
    assert ensure_secrets(s) == []  # idempotent: never regenerated
    assert load_pepper(s) == pepper
    assert load_signing_key(s).public_key() is not None


def test_missing_pepper_says_where_it_looked_and_how_to_fix():
    with pytest.raises(ConfigError) as e:
        load_pepper(load_settings())
    assert "JDX_PEPPER" in e.value.message and "jdx init" in e.value.message


def test_configured_pepper_wins_and_is_validated(monkeypatch):
    monkeypatch.setenv("JDX_PEPPER", "zz")
    with pytest.raises(ConfigError, match="not hexadecimal"):
        load_pepper(load_settings())
    monkeypatch.setenv("JDX_PEPPER", "ab" * 8)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        load_pepper(load_settings())
    monkeypatch.setenv("JDX_PEPPER", "cd" * 32)
    assert load_pepper(load_settings()) == bytes.fromhex("cd" * 32)


def test_archive_keys_generated_masked_and_rotatable(monkeypatch, tmp_path):
    s = load_settings()
    with pytest.raises(ConfigError) as e:
        load_archive_keys(s)
    assert "JDX_ARCHIVE_KEY" in e.value.message and "jdx init" in e.value.message
    ensure_secrets(s)
    path = s.secrets_dir / "archive_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    current, previous = load_archive_keys(s)
    assert len(current) == 32 and previous == []
    eff = s.effective()["secrets"]
    assert eff["archive_key"] == f"(from file {path}, present)"
    assert eff["archive_previous_keys"].endswith("archive_key.previous, none)")
    assert current.hex() not in repr(s.effective())
    # rotation: the old key moves to archive_key.previous, a new one is configured
    (s.secrets_dir / "archive_key.previous").write_text(f"# retired\n{current.hex()}\n")
    monkeypatch.setenv("JDX_ARCHIVE_KEY", "ef" * 32)
    s = load_settings()
    assert load_archive_keys(s) == (bytes.fromhex("ef" * 32), [current])
    eff = s.effective()["secrets"]
    assert eff["archive_key"] == "*** (set)" and "ef" * 32 not in repr(s.effective())
    monkeypatch.setenv("JDX_ARCHIVE_PREVIOUS_KEYS", f"{'01' * 32},{'02' * 32}")
    assert load_archive_keys(load_settings())[1] == [bytes([1] * 32), bytes([2] * 32)]
    monkeypatch.setenv("JDX_ARCHIVE_KEY", "ef" * 16)
    with pytest.raises(ConfigError, match=r"32 bytes \(64 hex digits\), one has 16"):
        load_archive_keys(load_settings())


def test_ingest_retention_and_orphan_settings(monkeypatch):
    s = load_settings()
    assert (
        s.section(IngestSettings).archive_days,
        s.section(IngestSettings).orphan_control_hours,
    ) == (180, 24.0)
    monkeypatch.setenv("JDX_INGEST_ARCHIVE_DAYS", "30")
    monkeypatch.setenv("JDX_INGEST_ORPHAN_CONTROL_HOURS", "0.5")
    s = load_settings()
    assert (
        s.section(IngestSettings).archive_days,
        s.section(IngestSettings).orphan_control_hours,
    ) == (30, 0.5)
    monkeypatch.setenv("JDX_INGEST_ARCHIVE_DAYS", "-1")
    with pytest.raises(ConfigError, match="JDX_INGEST_ARCHIVE_DAYS"):
        load_settings()
