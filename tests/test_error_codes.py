"""Every numbered error code of the project (``ING030``, ``REG090`` …) names one error: no two
:class:`exchange.errors.JdxError` classes share one (a collision — two ingest errors once both
said ING030 — would send an operator to the wrong cause). The API's word codes (``INVALID``,
``NOT_FOUND``) are categories several classes share by design."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import defaultdict

import exchange.errors

PACKAGES = (
    "exchange",
    "cli",
    "runtime",
    "dashboards",
    "ingest",
    "warehouse",
    "products",
    "reports",
    "sandbox",
    "simulator",
)


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


def test_error_codes_are_unique() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if module.name.endswith("__main__") or ".migrations." in module.name:
                continue
            importlib.import_module(module.name)
    by_code: dict[str, list[str]] = defaultdict(list)
    for cls in _subclasses(exchange.errors.JdxError):
        code = cls.__dict__.get("code")  # a class's own code; inheriting its base's is fine
        if isinstance(code, str) and re.fullmatch(r"[A-Z]{2,4}[0-9]{3}", code):
            by_code[code].append(f"{cls.__module__}.{cls.__qualname__}")
    shared = {code: names for code, names in by_code.items() if len(names) > 1}
    assert not shared, shared
