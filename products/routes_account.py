"""Member-scoped routes: batch jobs, usage, data quality and monthly statements.

Every route here serves the caller's own member only: a batch job of another member is refused
(403 ``NOT_OWNER``); usage and statements take no member parameter at all.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from exchange.domain import ApiProduct, Purpose
from ingest import dq
from products import billing
from products.auth import Caller, access, access_extra
from products.batch import check_rows, parse_rows, result_csv, rows_from_csv
from products.errors import ApiError, InvalidField, TooLarge
from products.lookups.borrower import today_cst
from products.models import BATCH_SCHEMA, AsOf, BatchRequest, Day, ErrorBody, month_problem

router = APIRouter(prefix="/v1")
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
}
BATCH = access(ApiProduct.BATCH)
USAGE = access(ApiProduct.USAGE)
_BATCH_KEYS = tuple(BatchRequest.model_fields)


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError("the body is not UTF-8", code="MALFORMED_JSON", status=400) from None


def _json_body(raw: bytes) -> Any:
    """orjson for speed (100k borrowers: ≈ 0.1 s); what it refuses (a BOM, NaN, a lone
    surrogate, huge integers) goes to the standard parser, which decides as it always has."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(_utf8(raw))
    except (ValueError, RecursionError):
        raise ApiError(
            "the body is not valid JSON (or nested deeper than about 1,000 levels)",
            code="MALFORMED_JSON", status=400,
        ) from None  # fmt: skip


_AS_OF: TypeAdapter[dt.date] = TypeAdapter(AsOf)


def _as_of(value: Any) -> dt.date:
    """The JSON batch's ``as_of`` by the lookups' rule (YYYY-MM-DD, 1970-01-01 … tomorrow)."""
    try:
        return _AS_OF.validate_python(value)
    except ValidationError as exc:
        raise InvalidField(f"as_of: {exc.errors()[0]['msg']}", field="as_of") from None


@router.post(
    "/batch",
    tags=["batch"],
    status_code=202,
    summary="Submit a batch job (JSON or CSV) of up to batch_max_borrowers borrowers.",
    openapi_extra={
        **access_extra(ApiProduct.BATCH),
        "requestBody": {
            "content": {
                "application/json": {"schema": BATCH_SCHEMA},
                "text/csv": {"schema": {"type": "string"}},
            },
            "required": True,
        },
    },
    responses=ERRORS,
)
async def submit_batch(
    request: Request,
    caller: Annotated[Caller, Depends(BATCH)],
    purpose: Annotated[Purpose | None, Query(description="CSV uploads: the purpose")] = None,
    as_of: Annotated[
        AsOf | None, Query(description="CSV uploads: reference day (YYYY-MM-DD, default today)")
    ] = None,
) -> dict[str, Any]:
    """JSON ``{"purpose", "as_of"?, "borrowers": [{id_type, id_number, consent_ref, name?}]}`` or
    CSV with header ``id_type,id_number,consent_ref[,name]`` and ``?purpose=``. Rows failing a
    check are kept with their error code and are not looked up or billed; a body out of shape
    (unknown keys, a field that is not a string or longer than its maximum, an as_of out of
    range) refuses the job (422). The body may be at most ``batch_max_borrowers ×
    batch_row_bytes + max_body_bytes`` bytes (413 ``BODY_TOO_LARGE``)."""
    service = request.app.state.service
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    day: dt.date | None = as_of
    if kind == "application/json":
        doc = _json_body(raw)
        if not isinstance(doc, dict) or not isinstance(doc.get("borrowers"), list):
            raise InvalidField("borrowers: a non-empty list is required", field="borrowers")
        unknown = [str(k)[:40] for k in doc if k not in _BATCH_KEYS]
        if unknown:
            raise InvalidField(
                f"unknown field(s) {', '.join(map(repr, unknown[:5]))}; a batch holds "
                + ", ".join(_BATCH_KEYS), field=unknown[0],
            )  # fmt: skip
        rows, purpose_text = doc["borrowers"], doc.get("purpose")
        if doc.get("as_of") is not None:
            day = _as_of(doc["as_of"])
    elif kind in ("text/csv", "application/csv"):
        rows = rows_from_csv(_utf8(raw))
        purpose_text = purpose.value if purpose else None
    else:
        _utf8(raw)  # a body that is not UTF-8 is refused as such whatever its type
        raise ApiError(
            "send the batch as application/json or text/csv", code="UNSUPPORTED_MEDIA", status=415
        )
    limit = service.cfg.batch_max_borrowers
    if len(rows) > limit:
        raise TooLarge(
            f"{len(rows):,} borrowers in one job; at most {limit:,} are allowed", field="borrowers"
        )
    if not rows:
        raise InvalidField("borrowers: at least one borrower is required", field="borrowers")
    try:
        chosen = Purpose(str(purpose_text))
    except ValueError:
        raise InvalidField(
            "purpose is required: " + ", ".join(p.value for p in Purpose),
            code="PURPOSE_INVALID",
            field="purpose",
        ) from None
    await run_in_threadpool(check_rows, rows)
    service.limiter.take(caller.key_id, max(1.0, len(rows) / 1000))
    service.reciprocity.check(caller)
    table = await run_in_threadpool(parse_rows, rows, service.pseudonymiser)
    del rows, raw  # raw identities end here
    job = await run_in_threadpool(service.batches.submit, caller, chosen, day or today_cst(), table)
    return {"job": job.public(), "poll": f"/v1/batch/{job.id}"}


@router.get(
    "/batch/{job_id}",
    tags=["batch"],
    summary="State of one of your batch jobs.",
    openapi_extra=access_extra(ApiProduct.BATCH),
    responses=ERRORS,
)
def get_batch(
    request: Request, job_id: str, caller: Annotated[Caller, Depends(BATCH)]
) -> dict[str, Any]:
    job = request.app.state.service.batches.get(caller, job_id)
    out: dict[str, Any] = {"job": job.public()}
    if job.status == "done":
        out["result"] = {f: f"/v1/batch/{job.id}/result?format={f}" for f in ("csv", "parquet")}
    return out


@router.get(
    "/batch/{job_id}/result",
    tags=["batch"],
    summary="Result of one of your finished batch jobs, one row per submitted borrower.",
    openapi_extra=access_extra(ApiProduct.BATCH),
    responses={
        **ERRORS,
        200: {
            "description": "The result (format=csv or parquet).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
    },
    response_class=Response,
)
def batch_result(
    request: Request,
    job_id: str,
    caller: Annotated[Caller, Depends(BATCH)],
    format: Annotated[str, Query(pattern="^(csv|parquet)$")] = "csv",
) -> Response:
    path = request.app.state.service.batches.result_path(caller, job_id)
    if format == "parquet":
        return Response(path.read_bytes(), media_type="application/vnd.apache.parquet")
    return Response(result_csv(path), media_type="text/csv")


@router.get(
    "/usage",
    tags=["billing"],
    summary="Your own usage per day and product (metered from the inquiry log).",
    openapi_extra=access_extra(ApiProduct.USAGE),
    responses=ERRORS,
)
def get_usage(
    request: Request,
    caller: Annotated[Caller, Depends(USAGE)],
    start: Annotated[
        Day | None, Query(alias="from", description="first day (default: the month of to)")
    ] = None,
    end: Annotated[Day | None, Query(alias="to", description="last day (default: today)")] = None,
) -> dict[str, Any]:
    """Days are YYYY-MM-DD from 1970-01-01 to 2149-06-06, at most 366 days apart."""
    last = end or today_cst()
    first = start or last.replace(day=1)
    if first > last or (last - first).days > 366:
        raise InvalidField("from must be on or before to, at most 366 days apart", field="from")
    days = billing.usage(request.app.state.service.wh, caller.member_code, first, last)
    return {"member": caller.member_name, "from": first.isoformat(), "to": last.isoformat(),
            "days": days}  # fmt: skip


@router.get(
    "/dq",
    tags=["billing"],
    summary="Your own data-quality score, the figure reciprocity compares with its threshold.",
    openapi_extra=access_extra(ApiProduct.USAGE),
    responses=ERRORS,
)
def get_dq(
    request: Request,
    caller: Annotated[Caller, Depends(USAGE)],
    days: Annotated[
        int | None, Query(ge=1, le=366, description="window in days (default reciprocity_days)")
    ] = None,
) -> dict[str, Any]:
    """Score over the window, pass rate per dimension, per day, worst fields and rules, records
    whose failures a later accepted correction lifted, and per dimension the points a perfect
    dimension would add (``lift``, with advice). The same document as the daily
    ``<MEMBER>_YYYYMMDD.dq.json`` in the member's SFTP outbox (docs/ingest.md)."""
    service = request.app.state.service
    today = today_cst()
    window = days or service.cfg.reciprocity_days
    since = today - dt.timedelta(days=window)
    report = dq.member_report(service.wh, caller.member_code, since)
    doc = dq.report_doc(report, threshold=service.reciprocity.dq_threshold, until=today)
    return {**doc, "member": caller.member_name, "member_code": caller.member_code}


@router.get(
    "/statements/{month}",
    tags=["billing"],
    summary="Your own statement of one month (YYYY-MM) as JSON, CSV or PDF.",
    openapi_extra=access_extra(ApiProduct.USAGE),
    responses={
        **ERRORS,
        200: {
            "description": "The statement (format=json, csv or pdf).",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        },
    },
    response_model=None,
)
def get_statement(
    request: Request,
    month: Annotated[
        str,
        Path(
            pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
            examples=["2026-10"],
            description="YYYY-MM, from 1970-01 to 2149-06",
        ),
    ],
    caller: Annotated[Caller, Depends(USAGE)],
    format: Annotated[str, Query(pattern="^(json|csv|pdf)$")] = "json",
) -> Response | dict[str, Any]:
    problem = month_problem(month)
    if problem is not None:
        raise InvalidField(problem, field="month")
    service = request.app.state.service
    prices = billing.load_prices(service.cfg.price_list)
    s = billing.statement(service.wh, caller.member_code, caller.member_name, month, prices)
    if format == "csv":
        return Response(billing.to_csv(s), media_type="text/csv")
    if format == "pdf":
        return Response(billing.to_pdf(s), media_type="application/pdf")
    return {
        "member": s.member_name,
        "month": s.month,
        "currency": prices.currency,
        "lines": [
            {**x, "unit_price": f"{x['unit_price']:.2f}", "amount": f"{x['amount']:.2f}"}
            for x in s.lines
        ],
        "total": f"{s.total:.2f}",
    }
