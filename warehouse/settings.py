"""Settings of the warehouse (``[warehouse]``, ``JDX_WAREHOUSE_*``): where ClickHouse is."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from exchange.errors import ConfigError
from exchange.settings import Section


class WarehouseSettings(Section):
    """The ClickHouse warehouse, embedded (chDB) or a server/cluster, through clickhouse-connect."""

    section: ClassVar[str] = "warehouse"
    model_config = SettingsConfigDict(env_prefix="JDX_WAREHOUSE_", extra="forbid")

    dsn: SecretStr | None = Field(
        None,
        description="chdb:///<dir> (embedded, default chdb:///<home>/warehouse) or "
        "http(s)://user:pass@host:port/ for a ClickHouse server or cluster.",
    )
    database: str = Field("jdx", description="Database that holds the exchange's tables.")
    cluster: str | None = Field(
        None,
        description="ClickHouse cluster name: when set, migrations apply sql/cluster/ "
        "(Replicated engines, Distributed tables) ON CLUSTER this name.",
    )

    memory_limit_mb: int = Field(
        4096,
        ge=0,
        description="Embedded (chDB) only: the engine's memory cap (max_server_memory_usage) in "
        "MiB; 0 leaves chDB's own, 90 % of the machine's memory. A query that would go beyond "
        "it fails with MEMORY_LIMIT_EXCEEDED instead of the process growing. The default is "
        "above the engine's part of any measured load, release or lookup run "
        "(docs/benchmarks.md). A ClickHouse server is capped in its own configuration.",
    )
    mark_cache_mb: int = Field(
        256,
        ge=1,
        description="Embedded (chDB) only: the engine's mark cache, primary-index cache and "
        "index-mark cache (mark_cache_size, primary_index_cache_size, index_mark_cache_size), "
        "in MiB each; chDB's defaults are 5 GiB each.",
    )

    compact_time: str = Field(
        "03:30",
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$",
        description="Time of day (HH:MM, China Standard Time) at which jdx serve merges the "
        "tables lookups and batch jobs read into one part each, once a day, within the hour "
        "that follows (products.compaction: about a minute at 10M accounts on 2 cores); "
        "empty: never (jdx warehouse compact runs it by hand).",
    )

    def engine_options(self) -> dict[str, int]:
        """chDB server settings from this section (the embedded engine takes them at start)."""
        cache = self.mark_cache_mb * 2**20
        options = {"mark_cache_size": cache, "primary_index_cache_size": cache,
                   "index_mark_cache_size": cache}  # fmt: skip
        if self.memory_limit_mb:
            options["max_server_memory_usage"] = self.memory_limit_mb * 2**20
        return options

    @property
    def url(self) -> str:
        """The DSN in clear (it may hold a password: never log it, see warehouse.mask_dsn)."""
        assert self.dsn is not None, "resolved() fills the default"
        return self.dsn.get_secret_value()

    def resolved(self, home: Path) -> Self:
        found = self
        if self.dsn is None:
            found = self.model_copy(
                update={"dsn": SecretStr(f"chdb://{(home / 'warehouse').as_posix()}")}
            )
        if not found.url.startswith(("chdb://", "http://", "https://")):
            raise ConfigError(
                "warehouse dsn must start with chdb:///, http:// or https:// "
                "(looked at JDX_WAREHOUSE_DSN and [warehouse] dsn in the config file)"
            )
        return found
