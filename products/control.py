"""Query control: rate limits, reciprocity ("give to get") and the POST_LOAN rule.

Invariants:

* ``consent_ref`` and ``purpose`` are required by the request models (:mod:`products.models`);
  a missing or blank one is refused before anything is read.
* Rate limits: one token bucket per API key, ``rate_burst`` tokens, refilled at
  ``rate_per_second``; a single lookup takes one token, a batch job one token per 1,000
  borrowers (jobs are limited separately by ``batch_max_queued``). An empty bucket is
  ``429 RATE_LIMITED`` with ``Retry-After``. Buckets live in this process's memory.
* Reciprocity (when ``reciprocity`` is on): a member is refused ``RECIPROCITY_NO_SUBMISSION``
  unless the warehouse's ``submissions`` table has an accepted or partially accepted file it sent
  in the last ``reciprocity_days``, and ``RECIPROCITY_DQ`` when its data-quality score over the
  same window is under ``[ingest] dq_threshold``. Members who joined less than
  ``reciprocity_days`` ago are exempt from both (a new member's first files are its learning
  curve). The refusal points to ``GET /v1/dq`` and the member's daily DQ file. The score is :func:`ingest.dq.member_score`, the weighted 0–100 score the loader
  reports (docs/ingest.md), so a member sees one figure and one threshold everywhere. A member
  without DQ rows is not refused for DQ (the submission rule already requires data). The
  standing is cached per member for ``reciprocity_cache_seconds``.
* POST_LOAN: allowed only when the caller reports an account (any status) for the borrower;
  decided on the rows the lookup read, so it costs no extra query.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from exchange.domain import Purpose
from ingest.dq import member_score
from products.auth import Caller
from products.errors import Forbidden, RateLimited
from products.lookups.borrower import BorrowerData, today_cst
from products.settings import ApiSettings


class RateLimiter:
    """Token buckets per API key."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str, tokens: float = 1.0) -> None:
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(key_id, (self._burst, now))
            level = min(self._burst, level + (now - last) * self._rate)
            if level < tokens:
                self._buckets[key_id] = (level, now)
                wait = math.ceil((tokens - level) / self._rate)
                raise RateLimited(
                    f"API key {key_id} is over its rate limit ({self._rate:g}/s, burst "
                    f"{self._burst:g}); retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[key_id] = (level - tokens, now)


@dataclass(frozen=True)
class Standing:
    last_accepted: dt.datetime | None
    dq_score: float | None


class Reciprocity:
    """Give to get: reads the member's standing from the warehouse, cached."""

    def __init__(self, wh: Any, cfg: ApiSettings, dq_threshold: float) -> None:
        self._wh = wh
        self._cfg = cfg
        self.dq_threshold = dq_threshold
        self._cache: dict[str, tuple[float, Standing]] = {}
        self._lock = threading.Lock()

    def standing(self, member_code: str) -> Standing:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(member_code)
        if hit is not None and hit[0] > now:
            return hit[1]
        since = today_cst() - dt.timedelta(days=self._cfg.reciprocity_days)
        row = self._wh.query("reciprocity_standing", member=member_code).one()
        score = member_score(self._wh, member_code, since)
        last = row["last_accepted"]
        found = Standing(last.replace(tzinfo=dt.UTC) if last else None, score)
        with self._lock:
            self._cache[member_code] = (now + self._cfg.reciprocity_cache_seconds, found)
        return found

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def check(self, caller: Caller) -> None:
        cfg = self._cfg
        if not cfg.reciprocity:
            return
        days = cfg.reciprocity_days
        s = self.standing(caller.member_code)
        new_member = (today_cst() - caller.joined).days < days
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        if not new_member and (s.last_accepted is None or s.last_accepted < cutoff):
            last = s.last_accepted.date().isoformat() if s.last_accepted else "never"
            raise Forbidden(
                f"member {caller.member_code} has no accepted submission in the last {days} days "
                f"(last accepted: {last}); lookups resume after the next accepted loans/1 file",
                code="RECIPROCITY_NO_SUBMISSION",
            )
        if not new_member and s.dq_score is not None and s.dq_score < self.dq_threshold:
            raise Forbidden(
                f"member {caller.member_code}'s data-quality score over the last {days} days is "
                f"{s.dq_score:.2f}, under the threshold {self.dq_threshold:g}; GET /v1/dq (and "
                f"the daily {caller.member_code}_YYYYMMDD.dq.json in your SFTP outbox) lists "
                "what to fix and what would lift the score; corrected records count once "
                "accepted",
                code="RECIPROCITY_DQ",
            )


def check_post_loan(caller: Caller, purpose: Purpose, data: BorrowerData) -> None:
    """POST_LOAN only for a borrower the caller reports an account for."""
    if purpose is Purpose.POST_LOAN and not any(
        a.member_code == caller.member_code for a in data.accounts
    ):
        raise Forbidden(
            "purpose POST_LOAN is allowed only for a borrower your institution reports an "
            "account for; use LOAN_APPROVAL, CREDIT_REVIEW or GUARANTEE_REVIEW",
            code="POST_LOAN_NOT_ALLOWED",
            field="purpose",
        )
