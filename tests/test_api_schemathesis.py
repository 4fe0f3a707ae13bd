"""Schemathesis against the running API: generated requests never get a 5xx, and every answer
conforms to /openapi.json (documented status, content type and body schema).

Runs against the **real uvicorn server** of the ``api`` fixture (tests/api_fixtures.py, golden
population, real chDB warehouse and SQLite registry), over HTTP: the schema is loaded from the
server's own ``/openapi.json`` and every operation in it is exercised with a valid member key
(BANK01, all products). Generation is bounded and reproducible: ``derandomize=True``, no example
database, :data:`EXAMPLES` examples per operation in each mode (about 20 s in all on 2 cores):
positive (requests the schema allows: documented answers, 2xx or a coded 4xx) and negative
(requests it does not: a documented 4xx, never a 5xx). The hostile cases found by hand are
replayed one by one in ``tests/test_api_hostile.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import schemathesis
from api_support import Api
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytest_plugins = ["warehouse_fixtures", "api_fixtures"]

#: examples per operation: requests the schema allows, and requests it does not
EXAMPLES = {GenerationMode.POSITIVE: 50, GenerationMode.NEGATIVE: 30}
#: examples per operation where one answer costs much more than a lookup (a PDF statement)
FEWER = {("GET", "/v1/statements/{month}"): 15}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_schema_is_self_contained(api: Api) -> None:
    """Every ``$ref`` of the served schema resolves inside it (schemathesis would refuse it)."""
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    doc = schema.raw_schema
    for ref in set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc))):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, f"dangling {ref}"
            node = node[part]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_documented_answers(api: Api, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    headers = {"Authorization": f"Bearer {api.tokens['BANK01']}"}
    seen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        method, path = operation.method.upper(), operation.path
        seen.append((method, path))

        @settings(
            max_examples=FEWER.get((method, path), EXAMPLES[mode]),
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=api.url, headers=headers, checks=CHECKS)

        try:
            exercise()  # a failure is reported with the request that reproduces it (curl)
        except Unsatisfiable:  # nothing to make invalid (GET /health has no input)
            assert mode is GenerationMode.NEGATIVE, (method, path)
    assert ("POST", "/v1/multi-loan") in seen and ("POST", "/v1/batch") in seen, seen
