"""The public pages as a part of ``jdx serve``: an ASGI app mounted in the API's server.

The dashboards read published releases only, so they need no warehouse and could run anywhere;
``jdx serve`` mounts them at ``/dashboards/`` of the server that already answers the API (one
port, one process). The composition root (``runtime.build.serving``) mounts :attr:`asgi` and runs
this object in its list of services, so the start-up lines say where the pages are::

    pages = DashboardService(releases_dir, url=lambda: api.url)
    api.app.mount(pages.mount_path, pages.asgi)

``start``/``stop`` have nothing to do: the API's server serves the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboards.app import PREFIX, create_asgi


class DashboardService:
    name = "dashboards"

    def __init__(self, releases_dir: Path, *, url: Callable[[], str], prefix: str = PREFIX) -> None:
        self.releases_dir = releases_dir
        self.prefix = prefix
        self._url = url
        self.asgi: Any = create_asgi(releases_dir, prefix)

    @property
    def mount_path(self) -> str:
        return self.prefix.rstrip("/")

    @property
    def url(self) -> str:
        return f"{self._url()}{self.prefix}"

    def start(self) -> None:
        """Nothing to start: the server the app is mounted in serves it."""

    def stop(self, timeout: float = 10.0) -> None:
        """Nothing to stop (see :meth:`start`)."""

    def describe(self) -> list[str]:
        return [f"dashboards: {self.url} (public pages from the releases in {self.releases_dir})"]
