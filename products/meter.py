"""How the lookup routes answer: counts by outcome and latency, for the operations console.

A pure ASGI middleware (:class:`Metered`) around the API: for each request to a lookup route
(:data:`LOOKUP_PATHS`) it records when it ended, the HTTP status and the time taken, in memory
(the last :data:`KEEP` requests; a restart starts afresh). Warehouse rows record the lookups
that were answered (``inquiries``), not the refused ones nor how long they took; this does.
Nothing about the request (key, borrower, body) is kept.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOKUP_PATHS = frozenset({"/v1/multi-loan", "/v1/time-series", "/v1/batch"})
KEEP = 200_000


class LookupMeter:
    """The record of the lookup routes' answers; :meth:`middleware` wraps the API's app."""

    def __init__(self, keep: int = KEEP) -> None:
        self._seen: deque[tuple[float, int, float]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.started = time.time()

    def record(self, status: int, seconds: float) -> None:
        with self._lock:
            self._seen.append((time.time(), status, seconds))

    def summary(self, since: float) -> dict[str, Any]:
        """Requests since the epoch second ``since``: answered (2xx), refused (4xx, by status),
        failed (5xx), and the median and 95th percentile of the time taken (ms)."""
        with self._lock:
            rows = [r for r in self._seen if r[0] >= since]
        refused: dict[str, int] = {}
        for _, status, _ in rows:
            if 400 <= status < 500:
                refused[str(status)] = refused.get(str(status), 0) + 1
        took = sorted(r[2] for r in rows)

        def pct(q: float) -> float | None:
            return round(1000 * took[min(len(took) - 1, int(q * len(took)))], 1) if took else None

        return {
            "since": max(since, self.started),
            "requests": len(rows),
            "answered": sum(1 for r in rows if r[1] < 400),
            "refused": refused,
            "failed": sum(1 for r in rows if r[1] >= 500),
            "p50_ms": pct(0.5),
            "p95_ms": pct(0.95),
        }


class Metered:
    """The middleware: ``app.add_middleware(Metered, meter=meter)`` (before the server starts)."""

    def __init__(self, app: ASGIApp, meter: LookupMeter) -> None:
        self.app = app
        self.meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in LOOKUP_PATHS:
            await self.app(scope, receive, send)
            return
        t0, status = time.perf_counter(), 500

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            self.meter.record(status, time.perf_counter() - t0)
