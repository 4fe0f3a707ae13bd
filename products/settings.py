"""Settings of the lookup API (``[api]``, ``JDX_API_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from exchange.settings import Section, under


class ApiSettings(Section):
    """The lookup API (``jdx api serve``, or inside ``jdx serve``): limits, reciprocity, alerts."""

    section: ClassVar[str] = "api"
    model_config = SettingsConfigDict(env_prefix="JDX_API_", extra="forbid")

    host: str = Field(
        "127.0.0.1",
        description="Address the API listens on. 0.0.0.0 (or ::) to serve members' risk systems "
        "from the network (put TLS in front: a reverse proxy or a load balancer).",
    )
    port: int = Field(8400, ge=0, le=65535, description="TCP port (0: any free port).")
    data_dir: Path | None = Field(
        None,
        description="Where the API keeps batch jobs, the inquiry journal and statements. "
        "Default: <home>/api.",
    )
    price_list: Path | None = Field(
        None,
        description="TOML price list for billing ([prices] PRODUCT = CNY per unit). "
        "Default: <home>/prices.toml when it exists, else the built-in list (jdx billing prices).",
    )
    rate_per_second: float = Field(
        50.0,
        gt=0,
        le=100_000,
        description="Sustained lookups per second one API key may make (token bucket refill).",
    )
    rate_burst: int = Field(
        100,
        ge=1,
        le=1_000_000,
        description="Lookups one API key may make at once before the sustained rate applies.",
    )
    auth_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=300,
        description="Seconds an authenticated key is trusted without asking the registry again; "
        "a revoked key or suspended member is refused at the latest this much later (0: ask on "
        "every request).",
    )
    reciprocity: bool = Field(
        True,
        description="Give to get: refuse lookups of a member without a recent accepted "
        "submission, or whose data-quality score over reciprocity_days (the loader's weighted "
        "score, jdx dq show) is under [ingest] dq_threshold; no DQ data is not a refusal.",
    )
    reciprocity_days: int = Field(
        35,
        ge=1,
        le=3660,
        description="A member needs an accepted (or partially accepted) submission received in "
        "this many days; members who joined less than this many days ago are exempt.",
    )
    reciprocity_cache_seconds: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="Seconds a member's reciprocity standing is reused before it is read again.",
    )
    alert_inquiry_institutions_7d: int = Field(
        4,
        ge=1,
        description="Alert when this many distinct institutions looked the borrower up in 7 days.",
    )
    alert_new_account_institutions_3m: int = Field(
        3,
        ge=1,
        description="Alert when this many distinct institutions opened a still-open account for "
        "the borrower in the last 3 months (90 days).",
    )
    alert_current_dpd: int = Field(
        30,
        ge=1,
        description="Alert when any open account is at least this many days past due now.",
    )
    batch_max_borrowers: int = Field(
        100_000,
        ge=1,
        le=1_000_000,
        description="Most borrowers in one batch job; a larger upload is refused (413).",
    )
    batch_max_queued: int = Field(
        4,
        ge=1,
        le=1000,
        description="Batch jobs one member may have queued or running at once.",
    )
    max_body_bytes: int = Field(
        64 << 10,
        ge=1 << 10,
        le=16 << 20,
        description="Largest request body, in bytes, of every route but POST /v1/batch (a lookup "
        "is a few hundred bytes). A larger body is refused 413 BODY_TOO_LARGE from its "
        "Content-Length before it is read, or as soon as a chunked body passes the limit.",
    )
    batch_row_bytes: int = Field(
        256,
        ge=64,
        le=64 << 10,
        description="Bytes allowed per borrower in a POST /v1/batch body: a batch body may hold "
        "batch_max_borrowers × batch_row_bytes + max_body_bytes bytes (100,000 × 256 + 64 KiB "
        "≈ 25.7 MB by default); a larger one is refused 413 BODY_TOO_LARGE unread.",
    )
    consent_strict: bool = Field(
        False,
        description="Refuse lookups (403) whose consent_ref the member has not registered "
        "(POST /v1/consents) for that borrower, or that expired or was revoked. Off: every "
        "consent_ref is accepted and logged, and can still be traced (jdx consent trace).",
    )
    inquiry_flush_seconds: float = Field(
        0.2,
        gt=0,
        le=60,
        description="Seconds between writes of logged lookups from the journal to the warehouse "
        "(answers count them at once either way; this bounds the warehouse's insert rate).",
    )
    inquiry_fold_seconds: float = Field(
        60,
        gt=0,
        le=3600,
        description="Seconds between folds of logged single lookups into the warehouse's "
        "inquiry_counts (whole minutes, once they are 5 s old), which lookups read; the lookups "
        "of minutes not folded yet are answered from the server's memory, so this bounds that "
        "memory: the lookups of about this many seconds and one or two minutes more.",
    )

    def resolved(self, home: Path) -> Self:
        return self.model_copy(
            update={
                "data_dir": under(home, self.data_dir, "api"),
                "price_list": under(home, self.price_list, "prices.toml"),
            }
        )
