"""The portal's and console's words have their Chinese: every text the pages pass to
``dashboards.text.tr`` (directly, through ``map(tr, …)``, or as the pages' navigation and marks)
is a key of ``AREA_ZH``, and each translation has the same ``{fields}`` as its English.

The browser side (the switch, its persistence, pages drawn in Chinese) is in
test_dashboards_portal.py."""

from __future__ import annotations

import ast
import string
from pathlib import Path

from dashboards.pages import console, portal
from dashboards.text import AREA_ZH, tr
from ingest.dq import ADVICE

PAGES = Path(__file__).resolve().parent.parent / "dashboards"
FILES = ("pages/portal.py", "pages/console.py", "pages/access.py", "app.py")


def texts_passed_to_tr() -> set[str]:
    found: set[str] = set()
    for name in FILES:
        tree = ast.parse((PAGES / name).read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "tr" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
            if (isinstance(func, ast.Name) and func.id == "map" and len(node.args) == 2
                    and isinstance(node.args[0], ast.Name) and node.args[0].id == "tr"
                    and isinstance(node.args[1], ast.Tuple)):  # fmt: skip
                found |= {e.value for e in node.args[1].elts if isinstance(e, ast.Constant)}
    return found


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_text_of_the_portal_and_console_has_its_chinese() -> None:
    wanted = texts_passed_to_tr()
    wanted |= set(portal.PAGES.values()) | set(console.PAGES.values())
    wanted |= set(console.MARK.values()) - {"✓"} | set(console.METER)
    wanted |= set(ADVICE) | set(ADVICE.values())  # the DQ report's lift table in the portal
    assert len(wanted) > 100
    missing = sorted(wanted - set(AREA_ZH))
    assert not missing, missing
    for en, zh in AREA_ZH.items():
        assert fields(en) == fields(zh), (en, zh)
        assert zh != en, en


def test_tr_fills_fields_in_either_language() -> None:
    assert tr("Member portal · {member}", "zh", member="ALPHA") == "会员门户 · ALPHA"
    assert tr("Member portal · {member}", "en", member="ALPHA") == "Member portal · ALPHA"
    assert tr("{code} suspended.", "zh", code="BETA") == "已暂停BETA。"
