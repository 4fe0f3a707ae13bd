"""How the lookup routes answer: counts by member, outcome and latency, kept in the warehouse.

A pure ASGI middleware (:class:`Metered`) around the API: for each request to a lookup route
(:data:`LOOKUP_PATHS`) it notes the minute it ended in, the caller's member (when its API key was
recognised), the HTTP status, the error code of a refusal (the ``error.code`` of the answer's
body, :mod:`products.errors`) and the time taken. :class:`LookupMeter` adds these up in memory
per UTC minute, member, route, status and code: a request count, the total milliseconds and a
latency histogram (:data:`BOUNDS_MS`). Nothing about the request (key, borrower, body) is kept.

Every ``flush_seconds`` (``[api] inquiry_fold_seconds``) a thread writes the complete minutes to
the warehouse's ``lookup_outcomes`` (migration 0008) in one insert, and at stop everything,
the current minute too, so the operations console's refusals and latency survive a restart.
Rows are increments that readers sum; each write carries a batch id, so a write retried after
an error (it may have landed) is kept once (ReplacingMergeTree on the whole key with the batch).
:meth:`LookupMeter.outcomes` answers the warehouse's rows plus what is still in memory, under the
lock the writer holds while it inserts and forgets what it wrote: nothing is counted twice or
missed. A crash of the process loses at most the last ``flush_seconds`` of counts.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import logging
import threading
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

LOOKUP_PATHS = frozenset({"/v1/multi-loan", "/v1/time-series", "/v1/batch"})
#: upper bounds (ms) of the latency histogram's buckets; one more bucket counts the slower ones
BOUNDS_MS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000,
             5000, 10000)  # fmt: skip
COLUMNS = ("slot", "member_code", "route", "status", "code", "batch", "requests", "total_ms",
           "buckets")  # fmt: skip
_BODY_KEEP = 4096

Key = tuple[dt.datetime, str, str, int, str]  # slot, member, route, status, code


class _Tally:
    __slots__ = ("buckets", "requests", "total_ms")

    def __init__(self) -> None:
        self.requests = 0
        self.total_ms = 0.0
        self.buckets = [0] * (len(BOUNDS_MS) + 1)

    def add(self, ms: float) -> None:
        self.requests += 1
        self.total_ms += ms
        self.buckets[bisect.bisect_left(BOUNDS_MS, ms)] += 1


def quantile(buckets: list[int], q: float) -> float | None:
    """The ``q`` quantile (ms) of a histogram over :data:`BOUNDS_MS`, interpolated linearly
    within its bucket (the last, open bucket answers its lower bound)."""
    total = sum(buckets)
    if not total:
        return None
    rank, seen = q * total, 0
    for i, n in enumerate(buckets):
        if n and seen + n >= rank:
            low = BOUNDS_MS[i - 1] if i > 0 else 0.0
            if i >= len(BOUNDS_MS):
                return float(BOUNDS_MS[-1])
            return round(low + (BOUNDS_MS[i] - low) * (rank - seen) / n, 1)
        seen += n
    return float(BOUNDS_MS[-1])


def _slot(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch - epoch % 60, dt.UTC).replace(tzinfo=None)


class LookupMeter:
    """The lookup routes' outcomes per minute; :class:`Metered` feeds it, a thread writes it.

    ``wh`` None: counted in memory only (nothing is written; tests of the middleware alone)."""

    name = "lookup-meter"

    def __init__(self, wh: Any | None = None, flush_seconds: float = 60.0) -> None:
        self._wh = wh
        self._flush = flush_seconds
        self._lock = threading.Lock()  # the tallies (every request takes it briefly)
        self._io = threading.Lock()  # a write to the warehouse against the readers
        self._open: dict[Key, _Tally] = {}
        self._unsent: list[tuple[str, dict[Key, _Tally]]] = []  # (batch id, tallies) to retry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = time.time()

    def record(
        self, status: int, seconds: float, member: str = "", route: str = "", code: str = ""
    ) -> None:
        key = (_slot(time.time()), member, route, int(status), code)
        with self._lock:
            tally = self._open.get(key)
            if tally is None:
                tally = self._open[key] = _Tally()
            tally.add(seconds * 1000.0)

    # ---- the writer ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._wh is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="jdx-lookup-meter", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._wh is not None:
            self.write(everything=True)

    def describe(self) -> list[str]:
        return []

    def _run(self) -> None:
        while not self._stop.wait(self._flush):
            self.write()

    def write(self, everything: bool = False) -> int:
        """Write the complete minutes (``everything``: all) and earlier failed writes; return
        the rows written. A failed write is kept and retried with the same batch id."""
        if self._wh is None:
            return 0
        current = _slot(time.time())
        with self._io:
            with self._lock:
                done = {k: v for k, v in self._open.items() if everything or k[0] < current}
                for k in done:
                    del self._open[k]
                if done:
                    self._unsent.append((uuid.uuid4().hex, done))
                pending = list(self._unsent)
            written = 0
            for batch, tallies in pending:
                rows = [
                    (*k[:4], k[4], batch, t.requests, t.total_ms, t.buckets)
                    for k, t in tallies.items()
                ]
                try:
                    self._wh.insert_rows("lookup_outcomes", rows, COLUMNS)
                except Exception as exc:  # kept in memory, counted by readers, retried next time
                    log.warning("lookup outcomes not written (retried later): %s", exc)
                    break
                with self._lock:
                    self._unsent.remove((batch, tallies))
                written += len(rows)
            return written

    # ---- the readers --------------------------------------------------------------------------

    def outcomes(self, since: dt.datetime) -> list[dict[str, Any]]:
        """Outcomes of the minutes from ``since`` (UTC) per China-time day, member, route,
        status and code: the warehouse's rows and what is still in memory, each counted once."""
        cst = dt.timezone(dt.timedelta(hours=8))
        since = since.astimezone(dt.UTC).replace(tzinfo=None) if since.tzinfo else since
        out: dict[tuple[Any, ...], dict[str, Any]] = {}

        def add(day: dt.date, member: str, route: str, status: int, code: str,
                requests: int, total_ms: float, buckets: list[int]) -> None:  # fmt: skip
            key = (day, member, route, status, code)
            row = out.get(key)
            if row is None:
                row = out[key] = {
                    "day": day, "member_code": member, "route": route, "status": status,
                    "code": code, "requests": 0, "total_ms": 0.0,
                    "buckets": [0] * (len(BOUNDS_MS) + 1),
                }  # fmt: skip
            row["requests"] += int(requests)
            row["total_ms"] += float(total_ms)
            for i, n in enumerate(list(buckets)[: len(row["buckets"])]):
                row["buckets"][i] += int(n)

        with self._io:
            if self._wh is not None:
                found = self._wh.query(
                    "console_lookup_outcomes", from_slot=since.strftime("%Y-%m-%d %H:%M:%S")
                ).dicts()
                for r in found:
                    add(r["day"], r["member_code"], r["route"], int(r["status"]), r["code"],
                        r["requests"], r["total_ms"], r["buckets"])  # fmt: skip
            with self._lock:
                held = [dict(self._open)] + [t for _, t in self._unsent]
                memory = [(k, t.requests, t.total_ms, list(t.buckets))
                          for tallies in held for k, t in tallies.items()]  # fmt: skip
        for (slot, member, route, status, code), n, ms, buckets in memory:
            if slot >= since:
                day = slot.replace(tzinfo=dt.UTC).astimezone(cst).date()
                add(day, member, route, status, code, n, ms, buckets)
        return sorted(out.values(), key=lambda r: (r["day"], r["member_code"], r["route"],
                                                   r["status"], r["code"]))  # fmt: skip


def _keep(status: int, body: bytes) -> bool:
    """Whether to keep more of the answer's body: a refusal's, up to its first few KiB."""
    return status >= 400 and len(body) < _BODY_KEEP


def _route(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _error_code(body: bytes) -> str:
    try:
        doc = json.loads(body)
        code = doc.get("error", {}).get("code") if isinstance(doc, dict) else None
    except (ValueError, AttributeError):
        return ""
    return str(code)[:40] if isinstance(code, str) else ""


class Metered:
    """The middleware: ``app.add_middleware(Metered, meter=meter)`` (before the server starts)."""

    def __init__(self, app: ASGIApp, meter: LookupMeter) -> None:
        self.app = app
        self.meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in LOOKUP_PATHS:
            await self.app(scope, receive, send)
            return
        t0, status, body = time.perf_counter(), 500, b""
        state = scope.setdefault("state", {})  # request.state: the caller, once authenticated

        async def tracked(message: Message) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and _keep(status, body):
                body += bytes(message.get("body", b""))[:_BODY_KEEP]
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            caller = state.get("caller")
            member = str(getattr(caller, "member_code", "") or "")
            code = _error_code(body) if status >= 400 else ""
            self.meter.record(status, time.perf_counter() - t0, member, _route(str(path)), code)
