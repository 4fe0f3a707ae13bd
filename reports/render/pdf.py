"""The PDF of a release: the HTML page printed by weasyprint (A4, page numbers, CJK fonts).

Images are read from the release folder (``base_url``), so the PDF embeds exactly the chart
files the HTML shows. weasyprint needs fontconfig fonts: Debian ``fonts-noto-cjk`` for Chinese.
"""

from __future__ import annotations

import logging
from pathlib import Path

from reports.errors import RenderError


def write_pdf(html: str, folder: Path, target: Path) -> Path:
    """Print ``html`` (whose relative links resolve in ``folder``) to ``target``."""
    import weasyprint

    # weasyprint logs every unsupported CSS property at WARNING; the release CSS is known good
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    try:
        weasyprint.HTML(string=html, base_url=str(folder)).write_pdf(str(target))
    except Exception as exc:
        raise RenderError(f"the PDF could not be written ({type(exc).__name__}: {exc})") from None
    return target
