"""API-key authentication against the member registry, and the per-route access declarations.

Invariants:

* A request carries its key as ``Authorization: Bearer <token>`` or ``X-API-Key: <token>``; the
  registry (:func:`exchange.registry.authenticate_api_key`) decides. Missing → 401
  ``AUTH_REQUIRED``; malformed, unknown, revoked or a member that is not ACTIVE → 401
  ``AUTH_INVALID`` (one answer for all, so a caller learns nothing about other keys).
* A positive answer is reused for ``auth_cache_seconds`` (keyed by the token's SHA-256, never the
  token): a revocation or suspension takes effect at the latest that much later. Failures are
  never cached.
* Every route declares who may call it with :func:`access`: ``public`` (docs, health) or one
  :class:`~exchange.domain.ApiProduct`. The declaration is stored in the route's OpenAPI
  operation as ``x-jdx-access`` so a test can walk every route and check it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from exchange.domain import ApiProduct, InstitutionType
from exchange.registry import authenticate_api_key, get_member
from exchange.registry import db as registry_db
from exchange.registry.errors import RegistryUnavailable
from products.errors import Forbidden, Unauthenticated, Unavailable

PUBLIC = "public"

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer jdx_<key_id>_<secret>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <token>")


@dataclass(frozen=True)
class Caller:
    """An authenticated member's risk system: who it is and what its key may call."""

    key_id: str
    member_code: str
    member_name: str
    member_type: InstitutionType
    joined: date
    products: frozenset[ApiProduct]


class Authenticator:
    """Tokens → :class:`Caller` through the registry, with a short positive cache."""

    def __init__(self, registry_url: str, cache_seconds: float) -> None:
        self._url = registry_url
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> Caller | None:
        """The cached answer for ``token`` while it is fresh, without asking the registry."""
        if self._ttl <= 0:
            return None
        digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        with self._lock:
            hit = self._cache.get(digest)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def authenticate(self, token: str) -> Caller | None:
        digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        now = time.monotonic()
        if self._ttl > 0:
            with self._lock:
                hit = self._cache.get(digest)
            if hit is not None and hit[0] > now:
                return hit[1]
        try:
            with registry_db.session(self._url, readonly=True) as db:
                found = authenticate_api_key(db, token)
                if found is None:
                    return None
                member = get_member(db, found.member_code)
        except RegistryUnavailable as exc:
            raise Unavailable(f"the member registry is unavailable ({exc.code}); retry") from None
        caller = Caller(
            found.key_id, found.member_code, member.name, found.member_type, member.joined,
            found.products,
        )  # fmt: skip
        if self._ttl > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (now + self._ttl, caller)
        return caller


def _token(
    bearer: HTTPAuthorizationCredentials | None, header: str | None
) -> str | None:  # fmt: skip
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


def access(product: ApiProduct | str) -> Callable[..., Any]:
    """The dependency that admits callers of ``product`` (or anyone for :data:`PUBLIC`)."""
    if product == PUBLIC:

        def public() -> None:
            return None

        return public
    wanted = ApiProduct(product)

    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> Caller:
        # async: a cached key is admitted on the event loop, without a worker-thread hop per
        # request; only a registry read (a cache miss) goes to a worker thread
        token = _token(bearer, header)
        if token is None:
            raise Unauthenticated(
                "an API key is required: send Authorization: Bearer <token> or X-API-Key: <token>",
                code="AUTH_REQUIRED",
            )
        authenticator: Authenticator = request.app.state.service.authenticator
        caller = authenticator.cached(token)
        if caller is None:
            caller = await run_in_threadpool(authenticator.authenticate, token)
        if caller is None:
            raise Unauthenticated(
                "the API key is not valid: unknown, revoked, malformed, or its member is not "
                "active; ask the association for a key (jdx key issue-api)"
            )
        if wanted not in caller.products:
            raise Forbidden(
                f"API key {caller.key_id} may not call {wanted.value}; it may call "
                f"{', '.join(sorted(p.value for p in caller.products))}"
            )
        request.state.caller = caller
        return caller

    return dependency


def access_extra(product: ApiProduct | str) -> dict[str, Any]:
    """``openapi_extra`` declaring who may call a route (checked by the security test)."""
    return {"x-jdx-access": str(product.value if isinstance(product, ApiProduct) else product)}
