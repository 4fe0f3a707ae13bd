"""The FastAPI application: routes, the one error shape, OpenAPI at ``/docs`` and ``/openapi.json``.

Invariants:

* Every error leaves as ``{"error": {"code", "message", "field"}}`` (:mod:`products.errors`):
  :class:`~products.errors.ApiError`, FastAPI's validation errors (422; malformed JSON is 400
  ``MALFORMED_JSON``), routing errors (404 ``NOT_FOUND``, 405 ``METHOD_NOT_ALLOWED``), warehouse
  and registry outages (503 ``UNAVAILABLE``) and any unexpected exception (500 ``INTERNAL``,
  logged with its traceback, never with request data).
* Validation messages never echo the value received (it may be an identity number).
* Every route declares who may call it (:func:`products.auth.access`), visible in the OpenAPI
  operation as ``x-jdx-access``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from exchange.errors import JdxError, TransientError
from products.auth import PUBLIC, access, access_extra
from products.errors import ApiError, error_body
from warehouse import WarehouseError

if TYPE_CHECKING:
    from products.service import ProductService

log = logging.getLogger(__name__)

#: request fields whose validation failures get their own code (the issue's "code naming the field")
FIELD_CODES = {
    "purpose": "PURPOSE_INVALID",
    "consent_ref": "CONSENT_REQUIRED",
    "id_type": "ID_TYPE",
    "id_number": "ID_FORMAT",
}
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "AUTH_REQUIRED", 403: "FORBIDDEN"}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _validation(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    if first.get("type") in ("json_invalid", "json_type") or any(
        e.get("type") == "json_invalid" for e in errors
    ):
        return _json(400, error_body("MALFORMED_JSON", "the request body is not valid JSON"))
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    leaf = loc[-1] if loc else ""
    code = FIELD_CODES.get(leaf, "INVALID")
    if first.get("type") == "missing" and not loc:
        return _json(422, error_body("INVALID", "a JSON request body is required"))
    message = f"{field or 'request'}: {first.get('msg', 'invalid')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return _json(422, error_body(code, message, field))


def create_app(service: ProductService) -> FastAPI:
    app = FastAPI(
        title="jdx lookup API",
        version="1",
        description="Multi-loan and time-series lookups, batch jobs, usage and statements for "
        "members of the joint-debt data exchange. Authenticate with `Authorization: Bearer "
        '<token>` or `X-API-Key: <token>`. Every error is `{"error": {"code", "message", '
        '"field"}}`; docs/api.md lists the codes.',
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.service = service

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        message = {
            404: f"no route {request.url.path}; /docs lists the routes",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(exc.status_code, str(exc.detail))
        return _json(exc.status_code, error_body(code, message), getattr(exc, "headers", None))

    @app.exception_handler(WarehouseError)
    async def warehouse_error(request: Request, exc: WarehouseError) -> JSONResponse:
        log.error("warehouse error on %s %s: %s", request.method, request.url.path, exc.code)
        return _json(503, error_body("UNAVAILABLE", "the warehouse is unavailable; retry"))

    @app.exception_handler(JdxError)
    async def jdx_error(request: Request, exc: JdxError) -> JSONResponse:
        if isinstance(exc, TransientError):
            return _json(503, error_body("UNAVAILABLE", f"{exc.message} [{exc.code}]"))
        log.error("refused %s %s: [%s] %s", request.method, request.url.path, exc.code, exc)
        return _json(500, error_body("INTERNAL", f"the server is misconfigured [{exc.code}]"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unexpected %s on %s %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return _json(500, error_body("INTERNAL", "internal error; it was logged"))

    @app.get(
        "/health",
        tags=["service"],
        openapi_extra=access_extra(PUBLIC),
        dependencies=[],
        summary="Liveness: the API answers (no key needed).",
    )
    def health() -> dict[str, str]:
        access(PUBLIC)()
        return {"status": "ok"}

    from products import routes_account, routes_lookups

    app.include_router(routes_lookups.router)
    app.include_router(routes_account.router)
    return app
