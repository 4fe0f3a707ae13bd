"""The FastAPI application: routes, the one error shape, OpenAPI at ``/docs`` and ``/openapi.json``.

Invariants:

* Every error leaves as ``{"error": {"code", "message", "field"}}`` (:mod:`products.errors`):
  :class:`~products.errors.ApiError`, FastAPI's validation errors (422; a body that is not JSON,
  not UTF-8 or nested too deeply is 400 ``MALFORMED_JSON``), routing errors (404 ``NOT_FOUND``,
  405 ``METHOD_NOT_ALLOWED``), any other refusal of the HTTP layer (a named code per status,
  :data:`HTTP_CODES`), warehouse and registry outages (503 ``UNAVAILABLE``; a statement the
  warehouse refuses is a bug, 500 ``INTERNAL``) and any unexpected exception (500 ``INTERNAL``,
  logged with its traceback, never with request data). Every code
  the app can send is in the table of :mod:`products.errors` and docs/api.md.
* A request body is bounded before it is read (:class:`BodyLimit`): ``[api] max_body_bytes``
  (64 KiB) on every route, ``batch_max_borrowers × batch_row_bytes + max_body_bytes`` on
  ``POST /v1/batch``. A larger ``Content-Length`` is answered 413 ``BODY_TOO_LARGE`` at once,
  unread; a chunked body as soon as it passes the limit. Both close the connection (the rest of
  the body is never read).
* An unexpected exception is answered by :class:`CatchAll` as a complete JSON 500 and not
  re-raised to the server, so the keep-alive connection stays usable.
* Validation messages never echo the value received (it may be an identity number).
* Every route declares who may call it (:func:`products.auth.access`), visible in the OpenAPI
  operation as ``x-jdx-access``.
* ``/openapi.json`` is self-contained: every ``$ref`` resolves inside the document (schemas the
  routes embed by hand are added to ``components``, :data:`products.models.EXTRA_SCHEMAS`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.errors import JdxError, TransientError
from products.auth import PUBLIC, access, access_extra
from products.errors import ApiError, error_body
from products.models import EXTRA_SCHEMAS
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
#: the code of a refusal by the HTTP layer itself (Starlette / FastAPI), by status; any other 4xx
#: is ``BAD_REQUEST``, any other 5xx ``INTERNAL`` — every one documented in products.errors
HTTP_CODES = {
    400: "MALFORMED_JSON",  # FastAPI could not parse the body (e.g. nested too deeply)
    401: "AUTH_REQUIRED",
    403: "PRODUCT_FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA",
    503: "UNAVAILABLE",
}


def http_code(status: int) -> str:
    return HTTP_CODES.get(status) or ("INTERNAL" if status >= 500 else "BAD_REQUEST")


class BodyTooLarge(StarletteHTTPException):
    """A request body over its limit (an HTTP exception: FastAPI's body reading passes those on
    untouched, where it would turn any other exception into a 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message, headers={"Connection": "close"})


def _json(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


class BodyLimit:
    """Pure ASGI middleware bounding request bodies (see the module invariants).

    ``limit_for(scope)`` gives the limit and the name of the rule for a request. A declared
    ``Content-Length`` over it is answered here without calling the app; otherwise the body
    stream is counted as the app reads it and :class:`BodyTooLarge` raised once it passes."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], tuple[int, str]]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, rule = self.limit_for(scope)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            message = (
                f"the request body is {int(declared):,} bytes; at most {limit:,} are allowed "
                f"({rule})"
            )
            refusal = _json(413, error_body("BODY_TOO_LARGE", message), {"Connection": "close"})
            await refusal(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(
                        f"the request body is more than {limit:,} bytes, the most allowed ({rule})"
                    )
            return message

        await self.app(scope, counted, send)


class CatchAll:
    """Pure ASGI middleware answering any exception the app lets through as a complete JSON
    ``500 INTERNAL`` (logged with its traceback, never with request data).

    Starlette's own handler for ``Exception`` re-raises after answering, which makes the server
    drop the keep-alive connection; this one does not. A :class:`BodyTooLarge` that escaped the
    exception handlers is answered 413 likewise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if isinstance(exc, BodyTooLarge):
                response = _json(413, error_body("BODY_TOO_LARGE", str(exc.detail)), exc.headers)
            else:
                log.error(
                    "unexpected %s on %s %s", type(exc).__name__, scope.get("method"),
                    scope.get("path"), exc_info=(type(exc), exc, exc.__traceback__),
                )  # fmt: skip
                response = _json(500, error_body("INTERNAL", "internal error; it was logged"))
            if started:
                raise  # the answer is half sent: only closing the connection is left
            await response(scope, receive, send)


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

    def limit_for(scope: Scope) -> tuple[int, str]:
        cfg = service.cfg
        if scope.get("path") == "/v1/batch":
            return (
                cfg.batch_max_borrowers * cfg.batch_row_bytes + cfg.max_body_bytes,
                "POST /v1/batch: batch_max_borrowers × batch_row_bytes + max_body_bytes",
            )
        return cfg.max_body_bytes, "max_body_bytes"

    app.add_middleware(BodyLimit, limit_for=limit_for)
    app.add_middleware(CatchAll)  # added last: outside BodyLimit

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        code = http_code(status)
        message = {
            404: f"no route {request.url.path}; /docs lists the routes",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(status, str(exc.detail))
        if status == 400 and exc.__cause__ is not None:  # FastAPI's "error parsing the body"
            message = (
                "the request body is not valid JSON (or not UTF-8, or nested deeper than about "
                "1,000 levels)"
            )
        return _json(status, error_body(code, message), getattr(exc, "headers", None))

    @app.exception_handler(WarehouseError)
    async def warehouse_error(request: Request, exc: WarehouseError) -> JSONResponse:
        log.error("warehouse error on %s %s: %s", request.method, request.url.path, exc.code)
        if isinstance(exc, TransientError):  # an outage: retrying may succeed
            return _json(503, error_body("UNAVAILABLE", "the warehouse is unavailable; retry"))
        # a statement the warehouse refused is a bug here, not an outage: retrying cannot help
        return _json(500, error_body("INTERNAL", f"internal error; it was logged [{exc.code}]"))

    @app.exception_handler(JdxError)
    async def jdx_error(request: Request, exc: JdxError) -> JSONResponse:
        if isinstance(exc, TransientError):
            return _json(503, error_body("UNAVAILABLE", f"{exc.message} [{exc.code}]"))
        log.error("refused %s %s: [%s] %s", request.method, request.url.path, exc.code, exc)
        return _json(500, error_body("INTERNAL", f"the server is misconfigured [{exc.code}]"))

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

    from products import consents, routes_account, routes_disputes, routes_lookups, routes_staff

    app.include_router(routes_lookups.router)
    app.include_router(routes_account.router)
    app.include_router(routes_disputes.router)
    app.include_router(consents.router)
    app.include_router(routes_staff.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )  # fmt: skip
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in EXTRA_SCHEMAS.items():
                schemas.setdefault(name, schema)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
