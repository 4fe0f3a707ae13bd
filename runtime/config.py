"""The settings of the whole exchange: the core's sections and every stage's, loaded together.

Each stage owns its section class (``warehouse.settings``, ``ingest.settings``,
``products.settings``, ``reports.settings``, ``simulator.settings``, ``sandbox.settings``, ``dashboards.settings``); importing them here registers
them, so :func:`load` knows every ``[section]`` of the config file and checks them all at start.
"""

from __future__ import annotations

from pathlib import Path

from dashboards.settings import DashboardSettings
from exchange.settings import Settings, load_settings
from ingest.settings import IngestSettings, SftpSettings
from products.settings import ApiSettings
from reports.settings import ReportSettings
from sandbox.settings import LabSettings
from simulator.settings import SimulatorSettings
from warehouse.settings import WarehouseSettings

STAGE_SECTIONS = (
    WarehouseSettings,
    SftpSettings,
    IngestSettings,
    ApiSettings,
    ReportSettings,
    SimulatorSettings,
    LabSettings,
    DashboardSettings,
)


def load(config_file: Path | str | None = None) -> Settings:
    """Every section's settings from the environment and the config file (see exchange.settings)."""
    return load_settings(config_file)
