"""Errors of the lookup API: every refusal is an :class:`ApiError` with an HTTP status, a stable
code and, where one field is to blame, that field's name.

Invariant: whatever goes wrong, a client receives exactly one body shape::

    {"error": {"code": "ID_CHECKSUM", "message": "...", "field": "id_number"}}

``field`` is ``null`` when no single field is to blame. :mod:`products.app` turns FastAPI's own
errors (404, 405, 422 validation, malformed JSON, any other HTTP-layer refusal) and unexpected
exceptions into this shape too; an unexpected exception is logged with its traceback and
answered ``500 INTERNAL`` without details. Messages never contain a raw identity number, name or
mobile (they echo masks at most).

One vocabulary: every code the API can send (and every code of an SFTP batch receipt) is in this
table and in docs/api.md; ``tests/test_api_hostile.py`` checks that each code written in
``products/`` is listed in both.

| code                   | status | when |
|------------------------|--------|------|
| AUTH_REQUIRED          | 401    | no ``Authorization: Bearer`` or ``X-API-Key`` header |
| AUTH_INVALID           | 401    | malformed, unknown or revoked key, or the member is not ACTIVE |
| PRODUCT_FORBIDDEN      | 403    | the key lacks the product the route needs |
| NOT_OWNER              | 403    | a batch job of another member |
| NOT_FOUND              | 404    | no such route or resource |
| METHOD_NOT_ALLOWED     | 405    | the route exists, the method does not |
| MALFORMED_JSON         | 400    | the body is not JSON, not UTF-8, or nested too deeply |
| BAD_REQUEST            | 4xx    | any other refusal by the HTTP layer (status as sent); not expected in practice |
| BODY_TOO_LARGE         | 413    | the body is over ``max_body_bytes`` (batch: ``batch_max_borrowers × batch_row_bytes + max_body_bytes``); the connection is closed |
| INVALID                | 422    | a field has the wrong type, is missing, unknown, too long or out of range (dates: 1970-01-01 … 2149-06-06, ``as_of`` … tomorrow); a batch CSV that cannot be read (e.g. a bare CR) |
| CONSENT_REQUIRED       | 422    | ``consent_ref`` missing, blank or too long |
| PURPOSE_INVALID        | 422    | ``purpose`` missing or not one of the four purposes |
| ID_TYPE / ID_LENGTH / ID_FORMAT / ID_CHECKSUM / ID_BIRTH_DATE / ID_REGION | 422 | ``id_number`` (or ``id_type``) fails its check |
| POST_LOAN_NOT_ALLOWED  | 403    | POST_LOAN for a borrower the caller reports no account for |
| RATE_LIMITED           | 429    | the key's token bucket is empty (``Retry-After`` says when) |
| RECIPROCITY_NO_SUBMISSION | 403 | no accepted submission within the reciprocity window |
| RECIPROCITY_DQ         | 403    | data-quality score under the reciprocity threshold |
| BATCH_TOO_LARGE        | 413    | more borrowers than ``batch_max_borrowers`` |
| BATCH_BUSY             | 429    | the member has ``batch_max_queued`` jobs queued or running |
| BATCH_NOT_READY        | 409    | result asked for before the job is done |
| UNSUPPORTED_MEDIA      | 415    | batch upload neither JSON nor CSV |
| DISPUTE_NOT_FOUND      | 404    | no dispute case of yours has this number (another member's is not found either) |
| DISPUTE_NOT_OPEN       | 409    | an answer to a case already answered or closed |
| CONSENT_UNKNOWN / CONSENT_OTHER_BORROWER / CONSENT_NOT_YET / CONSENT_EXPIRED / CONSENT_REVOKED | 403 | with ``[api] consent_strict``: the lookup's ``consent_ref`` is not registered (404 on revoke), is registered for another borrower, not yet granted or expired on ``as_of``, or revoked |
| CONSENT_CONFLICT       | —      | a consent registration row whose reference is registered for another borrower or with other days (in the answer's ``refused``) |
| SELF_REPORT_FEE_REQUIRED | 409  | a third self-report of the person in a calendar year without ``accept_fee`` |
| UNAVAILABLE            | 503    | warehouse or registry unreachable (transient: retry) |
| BATCH_CONTROL_INVALID / BATCH_CHECKSUM / BATCH_FILE_MISSING / BATCH_FILE_INVALID / MEMBER_NOT_ACTIVE | — | SFTP batch files only, in the receipt (:mod:`products.sftp_batch`) |
| INTERNAL               | 500    | a bug; logged with its traceback |
"""

from __future__ import annotations

from typing import Any

from exchange.errors import JdxError


class ApiError(JdxError):
    """A refusal with an HTTP status, a code and optionally the field to blame."""

    status: int = 400
    code = "INVALID"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        if status is not None:
            self.status = status
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"error": {"code": code, "message": message, "field": field}}


#: messages of the consent refusals (strict mode); ``field`` is ``consent_ref``
CONSENT_MESSAGES = {
    "CONSENT_UNKNOWN": "consent_ref is not a consent you registered (POST /v1/consents)",
    "CONSENT_OTHER_BORROWER": "consent_ref is registered for another borrower",
    "CONSENT_NOT_YET": "consent_ref was granted after the lookup's as_of day",
    "CONSENT_EXPIRED": "consent_ref expired before the lookup's as_of day",
    "CONSENT_REVOKED": "consent_ref was revoked",
}


class Unauthenticated(ApiError):
    status = 401
    code = "AUTH_INVALID"


class Forbidden(ApiError):
    status = 403
    code = "PRODUCT_FORBIDDEN"


class NotFoundError(ApiError):
    status = 404
    code = "NOT_FOUND"


class InvalidField(ApiError):
    status = 422
    code = "INVALID"


class RateLimited(ApiError):
    status = 429
    code = "RATE_LIMITED"


class TooLarge(ApiError):
    status = 413
    code = "BATCH_TOO_LARGE"


class Unavailable(ApiError):
    status = 503
    code = "UNAVAILABLE"


def id_error(problem: str) -> tuple[str, str]:
    """``(code, field)`` of an :class:`exchange.pseudonym.IdProblem` value."""
    if problem == "id_type":
        return "ID_TYPE", "id_type"
    return f"ID_{problem.upper()}", "id_number"
