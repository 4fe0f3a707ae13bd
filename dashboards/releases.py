"""The published releases the public pages read: ``<releases_dir>/<YYYY-MM>/v<N>/``.

Only what a release publishes is read — its signed ``manifest.json`` and its ``tables/*.csv`` —
never the warehouse, so a figure disclosure control hid cannot reach a page (a hidden cell is a
row with empty figures and ``flag`` = ``x``). The listing and the manifests come from
:mod:`reports.release` and :mod:`reports.manifest`, the CSV reading from
:mod:`reports.render.csvfiles`.

Invariants:

* A release is shown only if its manifest's signature verifies and every file matches its
  SHA-256 (:func:`reports.manifest.verify`); a release that fails is left out and logged.
* Releases are immutable (folders 0555, files 0444), so a verified release and its tables are
  read once and kept; the listing of the folder is read again on every call, so a release
  published while the server runs appears at the next page load.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports import manifest
from reports.columns import TABLES
from reports.errors import ManifestInvalid
from reports.release import all_releases
from reports.render.csvfiles import read_csv

log = logging.getLogger("jdx.dashboards")

#: ``YYYY-MM/vN``: how a page, a URL and the version selector name a release
KEY = re.compile(r"^(\d{4}-\d{2})/v(\d{1,6})$")
#: files of ``tables/`` besides the published tables
EXTRA_TABLES = ("seasonal", "revisions", "data_dictionary")


@dataclass(frozen=True)
class Release:
    """One published version of one month, with its manifest."""

    month: str
    version: int
    path: Path
    manifest: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.month}/v{self.version}"

    @property
    def revisions(self) -> int:
        return int(self.manifest.get("revisions") or 0)

    @property
    def previous(self) -> str | None:
        previous = self.manifest.get("previous")
        return str(previous) if previous else None


class ReleaseShelf:
    """The releases under one directory, verified once each and their tables cached."""

    def __init__(self, releases_dir: Path) -> None:
        self.releases_dir = releases_dir
        self._lock = threading.Lock()
        self._verified: dict[Path, Release | None] = {}
        self._tables: dict[tuple[Path, str], list[dict[str, str]]] = {}

    def releases(self) -> list[Release]:
        """Every verified release, newest month first and, within a month, newest version first."""
        out = []
        for ref in all_releases(self.releases_dir):
            release = self._verify(ref.month, ref.version, ref.path)
            if release is not None:
                out.append(release)
        return sorted(out, key=lambda r: (r.month, r.version), reverse=True)

    def get(self, key: str | None) -> Release | None:
        """The release named ``YYYY-MM/vN``, or the newest when ``key`` is None or unknown."""
        releases = self.releases()
        if key and KEY.match(key):
            for release in releases:
                if release.key == key:
                    return release
            return None
        return releases[0] if releases else None

    def table(self, release: Release, name: str) -> list[dict[str, str]]:
        """The rows of ``tables/<name>.csv`` as text (a hidden cell: empty figures, flag ``x``)."""
        if name not in TABLES and name not in EXTRA_TABLES:
            raise KeyError(f"no published table {name!r}")
        cache_key = (release.path, name)
        with self._lock:
            rows = self._tables.get(cache_key)
        if rows is None:
            path = release.path / "tables" / f"{name}.csv"
            rows = read_csv(path) if path.exists() else []
            with self._lock:
                self._tables[cache_key] = rows
        return rows

    def _verify(self, month: str, version: int, path: Path) -> Release | None:
        with self._lock:
            if path in self._verified:
                return self._verified[path]
        try:
            body = manifest.verify(path)
            release: Release | None = Release(month, version, path, body)
        except ManifestInvalid as exc:
            log.warning("release %s v%s is not shown: %s", month, version, exc)
            release = None
        with self._lock:
            self._verified[path] = release
        return release


def number(row: dict[str, str], column: str) -> float | None:
    """A published figure as a float (percent stays percent); None when empty or suppressed."""
    if row.get("flag"):
        return None
    text = row.get(column, "")
    return float(text) if text not in ("", None) else None


def suppressed(row: dict[str, str]) -> bool:
    return bool(row.get("flag"))
