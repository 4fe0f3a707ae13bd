"""The public pages, one module each: path (under the mount point) → layout function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dashboards.pages import about, borrowing, dynamics, headline, segments
from dashboards.pages.common import Page

#: path → (navigation text key, layout); "" is the landing page
PAGES: dict[str, tuple[str, Callable[[Page], list[Any]]]] = {
    "": ("nav_headline", headline.layout),
    "segments": ("nav_segments", segments.layout),
    "dynamics": ("nav_dynamics", dynamics.layout),
    "borrowing": ("nav_borrowing", borrowing.layout),
    "about": ("nav_about", about.layout),
}
