"""Disputes as the API sees them: the flags lookups carry, and a member's own cases.

:class:`DisputeBook` keeps every open or answered case's ``(member, account)`` by borrower key in
memory (a few thousand at most), so a lookup pays no registry round trip for the flag. It reloads
when :func:`exchange.registry.disputes.generation` says a case changed in this process (a case
opened through ``jdx disputes open``, which runs inside ``jdx serve``; an answer by API or SFTP;
the loader closing a case) — so the flag shows in the next lookup — and at least every
``refresh_seconds`` for changes made by another process.
"""

from __future__ import annotations

import threading
import time

from exchange.registry import db as registry_db
from exchange.registry import disputes

Flags = frozenset[tuple[str, str]]


class DisputeBook:
    def __init__(self, registry_url: str, refresh_seconds: float = 5.0) -> None:
        self._url = registry_url
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._by_key: dict[str, Flags] = {}
        self._generation = -1
        self._loaded_at = 0.0

    def _load(self) -> None:
        generation = disputes.generation()
        with registry_db.session(self._url, readonly=True) as db:
            found = disputes.flagged(db)
        self._by_key = {k: frozenset(v) for k, v in found.items()}
        self._generation, self._loaded_at = generation, time.monotonic()

    def open_for(self, borrower_key: str) -> Flags:
        """``{(member_code, account_id)}`` of the borrower's accounts under dispute."""
        if (
            disputes.generation() != self._generation
            or time.monotonic() - self._loaded_at > self._refresh
        ):
            with self._lock:
                if (
                    disputes.generation() != self._generation
                    or time.monotonic() - self._loaded_at > self._refresh
                ):
                    self._load()
        return self._by_key.get(borrower_key, frozenset())
