"""``/v1/consents``: members register the borrowers' consents they hold, and revoke them
(:mod:`exchange.registry.consents`); lookups check them when ``[api] consent_strict`` is on.

The ID numbers of a registration are checked and pseudonymised here and dropped, as in a lookup;
a row that fails (an ID check, a reference registered for another borrower) is listed in the
answer with its code and the other rows are kept. :class:`ConsentCheck` answers a lookup's
question from the registry, each ``(member, reference)`` kept ``cache_seconds``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from exchange.domain import ApiProduct
from exchange.identity import quick_valid
from exchange.pseudonym import check_id
from exchange.registry import consents
from exchange.registry import db as registry_db
from exchange.registry.errors import ConsentNotFound
from products.auth import Caller, access, access_extra
from products.errors import ApiError, id_error
from products.models import Day, ErrorBody, IdType

router = APIRouter(prefix="/v1", tags=["consents"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 413, 422, 429, 503)
}
CONSENTS = access(ApiProduct.CONSENTS)
_TEXT = r"^[^\x00-\x1f]*\S[^\x00-\x1f]*$"


class ConsentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consent_ref: str = Field(min_length=1, max_length=64, pattern=_TEXT)
    id_type: IdType
    id_number: str = Field(min_length=1, max_length=64)
    granted_on: Day
    expires_on: Day | None = None


class ConsentBatch(BaseModel):
    """Up to 10,000 consents in one call."""

    model_config = ConfigDict(extra="forbid")

    consents: list[ConsentRecord] = Field(min_length=1, max_length=consents.MAX_BULK)


@router.post(
    "/consents",
    summary="Register borrowers' consents you hold (up to 10,000 per call).",
    openapi_extra=access_extra(ApiProduct.CONSENTS),
    responses=ERRORS,
)
async def register_consents(
    request: Request, body: ConsentBatch, caller: Annotated[Caller, Depends(CONSENTS)]
) -> dict[str, Any]:
    """``added``, ``unchanged`` (registered before, the same) and ``refused`` rows (index, code,
    message): an ID that fails its check, a reference registered for another borrower."""
    service = request.app.state.service
    pseud = service.pseudonymiser
    rows: list[consents.ConsentRow] = []
    refused: list[dict[str, Any]] = []
    index: list[int] = []
    for i, c in enumerate(body.consents):
        problem = None if quick_valid(c.id_type, c.id_number) else check_id(c.id_type, c.id_number)
        if problem is not None:
            code, _ = id_error(problem.value)
            refused.append({"index": i, "consent_ref": c.consent_ref, "code": code,
                            "message": f"the {c.id_type} number fails its {problem.value} check"})  # fmt: skip
            continue
        index.append(i)
        rows.append(consents.ConsentRow(c.consent_ref, pseud.borrower_key(c.id_type, c.id_number),
                                        c.granted_on, c.expires_on))  # fmt: skip

    def act() -> consents.Registered:
        with registry_db.session(service.settings.registry_url) as db:
            return consents.register(db, caller.member_code, rows, actor=_actor(caller))

    done = await run_in_threadpool(act)
    refused += [{**r, "index": index[r["index"]]} for r in done.refused]
    service.consents.forget(caller.member_code)
    return {"added": done.added, "unchanged": done.unchanged,
            "refused": sorted(refused, key=lambda r: r["index"])}  # fmt: skip


@router.post(
    "/consents/{consent_ref}/revoke",
    summary="Revoke a consent you registered (the borrower withdrew it).",
    openapi_extra=access_extra(ApiProduct.CONSENTS),
    responses=ERRORS,
)
def revoke_consent(
    request: Request,
    consent_ref: Annotated[str, Path(min_length=1, max_length=64, pattern=_TEXT)],
    caller: Annotated[Caller, Depends(CONSENTS)],
) -> dict[str, Any]:
    service = request.app.state.service
    try:
        with registry_db.session(service.settings.registry_url) as db:
            at = consents.revoke(db, caller.member_code, consent_ref, actor=_actor(caller))
    except ConsentNotFound as exc:
        raise ApiError(exc.message, code="CONSENT_UNKNOWN", status=404) from None
    service.consents.forget(caller.member_code)
    return {"consent_ref": consent_ref, "revoked_at": at.isoformat()}


def _actor(caller: Caller) -> str:
    return f"api:{caller.member_code}:{caller.key_id}"


class ConsentCheck:
    """Strict mode's question — may this lookup cite this consent? — answered from the
    registry, each ``(member, reference)`` remembered ``cache_seconds`` (registration and
    revocation through this API forget the member's at once)."""

    def __init__(self, registry_url: str, cache_seconds: float = 2.0) -> None:
        self._url = registry_url
        self._ttl = cache_seconds
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str, dt.date], tuple[float, str | None]] = {}

    def refusal(self, member: str, consent_ref: str, borrower_key: str, day: dt.date) -> str | None:
        key = (member, consent_ref, borrower_key, day)
        now = time.monotonic()
        with self._lock:
            held = self._seen.get(key)
        if held is not None and now - held[0] < self._ttl:
            return held[1]
        with registry_db.session(self._url, readonly=True) as db:
            answer = consents.check(db, member, consent_ref, borrower_key, day)
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen.clear()
            self._seen[key] = (now, answer)
        return answer

    def mark(self, table: pa.Table, member: str, day: dt.date) -> pa.Table:
        """A batch job's rows with each valid row whose consent fails coded (``error_code``,
        ``error_field`` = ``consent_ref``), as a single lookup would be refused."""
        valid = np.flatnonzero(np.asarray(pc.equal(table["error_code"], "")))
        if valid.size == 0:
            return table
        refs = pc.take(table["consent_ref"], pa.array(valid)).to_pylist()
        keys = pc.take(table["borrower_key"], pa.array(valid)).to_pylist()
        with registry_db.session(self._url, readonly=True) as db:
            found = consents.check_many(db, member, [r.strip() for r in refs], keys, day)
        codes = table["error_code"].to_numpy(zero_copy_only=False).astype(object)
        fields = table["error_field"].to_numpy(zero_copy_only=False).astype(object)
        for i, refusal in zip(valid, found, strict=True):
            if refusal is not None:
                codes[i], fields[i] = refusal, "consent_ref"
        at = table.schema.get_field_index
        table = table.set_column(at("error_code"), "error_code", pa.array(codes, pa.string()))
        return table.set_column(at("error_field"), "error_field", pa.array(fields, pa.string()))

    def forget(self, member: str) -> None:
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if k[0] != member}
