"""Settings of the synthetic industry (``[simulator]``, ``JDX_SIM_*``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from exchange.settings import Section


class SimulatorSettings(Section):
    """Defaults of the synthetic industry (jdx simulate, the demo, benchmarks)."""

    section: ClassVar[str] = "simulator"
    model_config = SettingsConfigDict(env_prefix="JDX_SIM_", extra="forbid")

    members: int = Field(40, ge=1, le=2000, description="Member institutions to simulate.")
    borrowers: int = Field(200_000, ge=1, description="Borrowers in the synthetic population.")
    months: int = Field(24, ge=1, le=120, description="Months of history to simulate.")
    seed: int = Field(7, description="Random seed: the same seed gives the same industry.")
    end_month: str | None = Field(
        None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="Last simulated month (YYYY-MM). Default: the month before today.",
    )
