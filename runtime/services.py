"""Long-running services and how ``jdx serve`` runs them.

A :class:`Service` starts, says what it serves and where, and stops. :func:`run` starts services
in order, waits for a stop request (SIGTERM/SIGINT in the CLI) and stops them in reverse order;
each stage contributes its services (the loader and SFTP server from ``ingest``, the API from
``products``, the anchor of the audit chain from the core, the admin channel from here).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

log = logging.getLogger("jdx.runtime")


class Service(Protocol):
    """Something ``jdx serve`` runs: started once, stopped once."""

    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...

    def describe(self) -> list[str]:
        """Lines saying what the service serves and where (printed at start)."""
        ...


def run(
    services: Sequence[Service],
    stop: threading.Event,
    *,
    say: Callable[[str], None] = print,
    timeout: float = 10.0,
) -> None:
    """Start ``services`` in order, print what they serve, wait for ``stop``, stop them in reverse.

    If one fails to start, those already started are stopped and the error propagates.
    """
    started: list[Service] = []
    try:
        for service in services:
            service.start()
            started.append(service)
            for line in service.describe():
                say(line)
        say("serving; SIGTERM or Ctrl-C stops")
        while not stop.wait(0.5):
            pass
    finally:
        for service in reversed(started):
            try:
                service.stop(timeout)
            except Exception:
                log.exception("stopping %s failed", service.name)
        if started:
            say("stopped")
