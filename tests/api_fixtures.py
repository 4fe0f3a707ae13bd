"""API fixtures (a pytest plugin): ``api``, a real uvicorn server with the golden population.

See :mod:`api_support` for what it holds and how it is seeded.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
from api_support import ALL_PRODUCTS, Api, accepted, population, seed

from exchange.keyfiles import ensure_secrets, load_pepper
from exchange.pseudonym import Pseudonymiser
from exchange.registry import add_member, issue_api_key, revoke_api_key
from exchange.registry import db as registry_db
from products.service import ProductService
from runtime.config import load as load_settings
from warehouse import Warehouse


@pytest.fixture(scope="module")
def api(wh: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home = tmp_path_factory.mktemp("api-home")
    mp = pytest.MonkeyPatch()
    for name in list(os.environ):
        if name.startswith("JDX_") and not name.startswith("JDX_TEST_"):
            mp.delenv(name)
    mp.setenv("JDX_HOME", str(home))
    mp.setenv("JDX_API_AUTH_CACHE_SECONDS", "0")
    mp.setenv("JDX_API_INQUIRY_FLUSH_SECONDS", "0.1")
    mp.setenv("JDX_API_RATE_PER_SECOND", "1000")
    mp.setenv("JDX_API_RATE_BURST", "1000")
    mp.setenv("JDX_API_BATCH_MAX_BORROWERS", "1000")
    settings = load_settings()
    ensure_secrets(settings)
    registry_db.upgrade(settings.registry_url)
    pop = population()
    pseud = Pseudonymiser(load_pepper(settings))
    tokens: dict[str, str] = {}
    with registry_db.session(settings.registry_url) as db:
        for m in pop["members"]:
            add_member(db, code=m["code"], name=m["name"], type=m["type"], joined="2020-01-01",
                       actor="test")  # fmt: skip
            tokens[m["code"]] = issue_api_key(db, m["code"], ALL_PRODUCTS, actor="test")[1]
        tokens["ts_only"] = issue_api_key(db, "BANK01", ["time_series"], actor="test")[1]
        key_id, tokens["revoked"] = issue_api_key(db, "BANK01", ALL_PRODUCTS, actor="test")
        revoke_api_key(db, key_id, actor="test")
        for code, name in (("NOSUB", "No Submission Ltd"), ("LOWDQ", "Low Quality Ltd")):
            add_member(db, code=code, name=name, type="OTHER", joined="2020-01-01", actor="test")
            tokens[code] = issue_api_key(db, code, ALL_PRODUCTS, actor="test")[1]
        add_member(db, code="NEW01", name="Newcomer Ltd", type="OTHER", actor="test")
        tokens["NEW01"] = issue_api_key(db, "NEW01", ALL_PRODUCTS, actor="test")[1]
    seed(wh, pseud, pop)
    accepted(wh, "NOSUB", days_ago=40)
    accepted(wh, "LOWDQ")
    today = dt.date.today()
    wh.insert_rows(
        "dq_daily",
        [("LOWDQ", today, "validity", "", 40, 100, dt.datetime.now(dt.UTC).replace(tzinfo=None)),
         ("BANK01", today, "validity", "", 99, 100, dt.datetime.now(dt.UTC).replace(tzinfo=None))],
        ["member_code", "day", "dimension", "field", "passed", "checked", "computed_at"],
    )  # fmt: skip
    service = ProductService(settings, warehouse=wh, host="127.0.0.1", port=0)
    service.start()
    try:
        yield Api(service.url, settings, wh, service, pseud, tokens, pop)
    finally:
        service.stop()
        registry_db.dispose(settings.registry_url)
        mp.undo()
