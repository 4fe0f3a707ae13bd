"""``/v1/staff``: the association's own routes — a person's self-report (self-inquiry).

Staff authenticate as registry users with a password (HTTP Basic over TLS; ``jdx user
set-password``), role ``admin`` or ``operator``. A member's API key is not staff: it is refused
``403 PRODUCT_FORBIDDEN`` (an unknown one ``401 AUTH_INVALID``, none ``401 AUTH_REQUIRED``), as
any route refuses a key without its product. Staff have checked the person's identity before
they call; the ID number is pseudonymised here and dropped, as in a lookup.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from exchange.identity import quick_valid
from exchange.pseudonym import check_id, mask_id
from exchange.registry import db as registry_db
from exchange.registry.errors import SelfReportFeeRequired
from exchange.registry.models import UserRole
from exchange.registry.users import UserInfo, check_password
from products import self_report
from products.auth import _bearer, _header, _token, access_extra
from products.errors import (
    ApiError,
    Forbidden,
    InvalidField,
    NotFoundError,
    Unauthenticated,
    id_error,
)
from products.models import ErrorBody, IdType

router = APIRouter(prefix="/v1/staff", tags=["staff"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 413, 422, 503)
}
STAFF = "staff"
_basic = HTTPBasic(auto_error=False, realm="jdx staff")
_REFERENCE = re.compile(r"^SR-[0-9]{8}$")


async def staff(
    request: Request,
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    bearer: Annotated[Any, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> UserInfo:
    """A staff user (admin, operator) by HTTP Basic; a member's key is not one."""
    service = request.app.state.service
    if basic is None:
        token = _token(bearer, header)
        if token is None:
            raise Unauthenticated(
                "staff routes need a staff user's credentials: HTTP Basic (jdx user set-password)",
                code="AUTH_REQUIRED", headers={"WWW-Authenticate": 'Basic realm="jdx staff"'},
            )  # fmt: skip
        if await run_in_threadpool(service.authenticator.authenticate, token) is None:
            raise Unauthenticated("the API key is not valid; staff routes take staff credentials")
        raise Forbidden("a member's API key may not call staff routes (staff: HTTP Basic)")

    def check() -> UserInfo | None:
        with registry_db.session(service.settings.registry_url, readonly=True) as db:
            return check_password(db, basic.username, basic.password)

    user = await run_in_threadpool(check)
    if user is None:
        raise Unauthenticated("unknown staff user or wrong password", code="AUTH_INVALID",
                              headers={"WWW-Authenticate": 'Basic realm="jdx staff"'})  # fmt: skip
    if user.role not in (UserRole.ADMIN, UserRole.OPERATOR):
        raise Forbidden(f"user {user.username} ({user.role.value}) may not produce self-reports")
    return user


class SelfReportRequest(BaseModel):
    """The person whose report staff produce (identity checked in person)."""

    model_config = ConfigDict(extra="forbid")

    id_type: IdType
    id_number: str = Field(min_length=1, max_length=64)
    accept_fee: bool = Field(
        False,
        description="The person agreed to pay the SELF_REPORT fee (third report of a year on).",
    )


@router.post(
    "/self-report",
    summary="A person's own full report (self-inquiry): JSON, and a PDF to fetch.",
    openapi_extra=access_extra(STAFF),
    responses=ERRORS,
)
def post_self_report(
    request: Request, body: SelfReportRequest, user: Annotated[UserInfo, Depends(staff)]
) -> dict[str, Any]:
    """Every account with the lender's name and 24-month grid, every inquiry with the inquirer,
    purpose and time. Two free per calendar year; then ``409 SELF_REPORT_FEE_REQUIRED`` unless
    ``accept_fee``."""
    service = request.app.state.service
    problem = (
        None
        if quick_valid(body.id_type, body.id_number)
        else check_id(body.id_type, body.id_number)
    )
    if problem is not None:
        code, field = id_error(problem.value)
        raise InvalidField(f"{field}: the {body.id_type} number fails its {problem.value} check",
                           code=code, field=field)  # fmt: skip
    key = service.pseudonymiser.borrower_key(body.id_type, body.id_number)
    try:
        made = self_report.produce(
            service.settings, service.wh, key, masked_id=mask_id(body.id_type, body.id_number),
            accept_fee=body.accept_fee, staff=f"staff:{user.username}", write_pdf=service.render_pdf,
        )  # fmt: skip
    except SelfReportFeeRequired as exc:
        raise ApiError(exc.message, code="SELF_REPORT_FEE_REQUIRED", status=409,
                       field="accept_fee") from None  # fmt: skip
    return {
        "reference": made.reference, "fee": made.fee, "currency": made.currency,
        "nth_this_year": made.nth_this_year,
        "pdf": f"/v1/staff/self-report/{made.reference}.pdf" if made.pdf else None,
        "report": made.doc,
    }  # fmt: skip


@router.get(
    "/self-report/{reference}.pdf",
    summary="The PDF of a self-report produced before.",
    openapi_extra=access_extra(STAFF),
    responses=ERRORS,
    response_class=FileResponse,
)
def get_self_report_pdf(
    request: Request, reference: str, user: Annotated[UserInfo, Depends(staff)]
) -> FileResponse:
    path = self_report.folder(request.app.state.service.settings) / f"{reference}.pdf"
    if not _REFERENCE.match(reference) or not path.is_file():
        raise NotFoundError(f"no self-report PDF {reference!r}")
    return FileResponse(path, media_type="application/pdf", filename=f"{reference}.pdf")
