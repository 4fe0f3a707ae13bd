"""Settings of the dashboards' logins (``[dashboards]``, ``JDX_DASHBOARDS_*``).

The public pages need none; the member portal and the operations console use these for their
sessions and login limits (docs/dashboards.md "Logins and sessions"). The key that signs the
session cookie is a secret (``[secrets] session_secret``), not a setting here.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from exchange.settings import Section


class DashboardSettings(Section):
    """Logins to the member portal and the operations console (``/dashboards/login``)."""

    section: ClassVar[str] = "dashboards"
    model_config = SettingsConfigDict(env_prefix="JDX_DASHBOARDS_", extra="forbid")

    province_geojson: Path | None = Field(
        None,
        description="The province choropleth's map: a GeoJSON FeatureCollection of provincial "
        "units (Polygon/MultiPolygon, GB/T 2260 code in properties.code or id), such as the "
        "association's approved standard map with its review number (审图号); a relative path "
        "is under the home. Unset: the shipped schematic tile grid, which shows no boundaries.",
    )
    session_idle_minutes: int = Field(
        30,
        ge=1,
        le=24 * 60,
        description="A session ends after this many minutes without a request (log in again).",
    )
    session_hours: int = Field(
        12,
        ge=1,
        le=24 * 7,
        description="A session ends this many hours after its login, however busy.",
    )
    login_failures: int = Field(
        5,
        ge=1,
        le=1000,
        description="Failed logins allowed per user name (four times as many per client "
        "address) within login_window_minutes; further attempts are refused (HTTP 429) until "
        "the window passes.",
    )
    login_window_minutes: int = Field(
        15, ge=1, le=24 * 60, description="The window over which login_failures are counted."
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        "auto",
        description="The session cookie's Secure flag: auto sets it when the request came over "
        "TLS (directly, or through a TLS proxy on 127.0.0.1 whose X-Forwarded-Proto uvicorn "
        "trusts); always for a TLS proxy on another host; never only for plain-HTTP testing.",
    )

    def resolved(self, home: Path) -> Self:
        """A relative ``province_geojson`` is taken from the home."""
        path = self.province_geojson
        if path is None or path.is_absolute():
            return self
        return self.model_copy(update={"province_geojson": home / path})
