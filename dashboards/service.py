"""The public pages as a part of ``jdx serve``: an ASGI app mounted in the API's server.

The dashboards read published releases only, so they need no warehouse and could run anywhere;
``jdx serve`` mounts them at ``/dashboards/`` of the server that already answers the API (one
port, one process). The composition root (``runtime.build.serving``) mounts :attr:`asgi` and runs
this object in its list of services, so the start-up lines say where the pages are::

    pages = DashboardService(releases_dir, url=lambda: api.url, auth=auth, data=data)
    api.app.mount(pages.mount_path, pages.asgi)

With ``auth`` (:class:`dashboards.auth.Auth`) and ``data`` (the runtime's
:class:`dashboards.data.ExchangeData`) the same app serves the member portal and the operations
console behind a login. ``start``/``stop`` have nothing to do: the API's server serves the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboards.app import PREFIX, create_asgi
from dashboards.auth import Auth
from dashboards.data import ExchangeData


class DashboardService:
    name = "dashboards"

    def __init__(
        self,
        releases_dir: Path,
        *,
        url: Callable[[], str],
        prefix: str = PREFIX,
        auth: Auth | None = None,
        data: ExchangeData | None = None,
        province_geojson: Path | None = None,
    ) -> None:
        self.releases_dir = releases_dir
        self.prefix = prefix
        self._url = url
        self.logins = auth is not None and data is not None
        self.asgi: Any = create_asgi(
            releases_dir, prefix, auth=auth, data=data, province_geojson=province_geojson
        )

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
        lines = [f"dashboards: {self.url} (public pages from the releases in {self.releases_dir})"]
        if self.logins:
            lines += [
                f"member portal: {self.url}portal (log in at {self.url}login)",
                f"operations console: {self.url}console",
            ]
        return lines
