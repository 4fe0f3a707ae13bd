"""``/v1/disputes``: a member's own dispute cases, and its answers (DOMAIN.md §4).

A person objects to a member's records through the association (``jdx disputes open``); the
member sees its cases here (product ``disputes``) and answers each once: ``verified`` (the records
stand; the case closes), ``corrected`` or ``deleted`` (the new ``A`` or ``D`` record follows in a
regular loans file; the case closes when it loads), with evidence text. The same answer may come
as an SFTP response file (:mod:`ingest.disputes`). Another member's case number is
``404 DISPUTE_NOT_FOUND``, as an unknown one; an answer to a case that is not open is
``409 DISPUTE_NOT_OPEN``; nothing changes on a refusal.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from exchange.domain import ApiProduct, DisputeStatus
from exchange.registry import db as registry_db
from exchange.registry import disputes
from exchange.registry.errors import DisputeNotFound, DisputeStateConflict, InvalidDispute
from exchange.registry.models import utcnow
from products.auth import Caller, access, access_extra
from products.errors import ApiError, InvalidField
from products.models import ErrorBody

router = APIRouter(prefix="/v1", tags=["disputes"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
DISPUTES = access(ApiProduct.DISPUTES)
CaseNo = Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9-]{1,16}$")]


class DisputeAnswer(BaseModel):
    """The member's answer to one of its open cases."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["verified", "corrected", "deleted"]
    evidence: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00-\x08\x0b-\x1f]*$")


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, DisputeNotFound):
        return ApiError(exc.args[0], code="DISPUTE_NOT_FOUND", status=404)
    if isinstance(exc, DisputeStateConflict):
        return ApiError(exc.args[0], code="DISPUTE_NOT_OPEN", status=409)
    return InvalidField(exc.args[0], field="evidence")


@router.get(
    "/disputes",
    summary="Your dispute cases, oldest first (open ones, or in one status).",
    openapi_extra=access_extra(ApiProduct.DISPUTES),
    responses=ERRORS,
)
def list_disputes(
    request: Request,
    caller: Annotated[Caller, Depends(DISPUTES)],
    status: Annotated[Literal["open", "answered", "closed", "all"], Query()] = "open",
) -> dict[str, Any]:
    url = request.app.state.service.settings.registry_url
    chosen = None if status == "all" else DisputeStatus(status)
    with registry_db.session(url, readonly=True) as db:
        cases = disputes.list_cases(db, member_code=caller.member_code, status=chosen)
    now = utcnow()
    return {"member": caller.member_name, "status": status,
            "cases": [c.public(now) for c in cases]}  # fmt: skip


@router.get(
    "/disputes/{case_no}",
    summary="One of your dispute cases.",
    openapi_extra=access_extra(ApiProduct.DISPUTES),
    responses=ERRORS,
)
def get_dispute(
    request: Request, case_no: CaseNo, caller: Annotated[Caller, Depends(DISPUTES)]
) -> dict[str, Any]:
    url = request.app.state.service.settings.registry_url
    try:
        with registry_db.session(url, readonly=True) as db:
            case = disputes.get_case(db, case_no, caller.member_code)
    except DisputeNotFound as exc:
        raise _refused(exc) from None
    return case.public(utcnow())


@router.post(
    "/disputes/{case_no}/answer",
    summary="Answer one of your open cases: verified, corrected or deleted, with evidence.",
    openapi_extra=access_extra(ApiProduct.DISPUTES),
    responses=ERRORS,
)
async def answer_dispute(
    request: Request,
    case_no: CaseNo,
    body: DisputeAnswer,
    caller: Annotated[Caller, Depends(DISPUTES)],
) -> dict[str, Any]:
    url = request.app.state.service.settings.registry_url

    def act() -> disputes.DisputeInfo:
        with registry_db.session(url) as db:
            return disputes.answer(
                db, case_no, member_code=caller.member_code, outcome=body.outcome,
                evidence=body.evidence, actor=f"api:{caller.member_code}:{caller.key_id}",
            )  # fmt: skip

    try:
        case = await run_in_threadpool(act)
    except (DisputeNotFound, DisputeStateConflict, InvalidDispute) as exc:
        raise _refused(exc) from None
    return case.public(utcnow())
