"""The rule families a release states its exclusions by are the rule catalogue's classes."""

from __future__ import annotations

from ingest.rules import CLASS_PREFIX
from reports.exclusions import FAMILIES


def test_families_are_the_catalogue_classes_in_order() -> None:
    assert list(FAMILIES) == list(CLASS_PREFIX.values())
    assert [en for en, _ in FAMILIES.values()] == [c.value for c in CLASS_PREFIX]
