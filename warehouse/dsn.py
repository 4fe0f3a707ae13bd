"""Warehouse DSNs: ``chdb:///<absolute dir>`` (embedded) or ``http(s)://user:pass@host:port/``.

Invariants:

* One DSN setting selects the backend; both run the same clickhouse-connect code.
* An embedded DSN names an absolute directory; it is normalised with ``realpath`` so two
  spellings of one directory are recognised as the same (chDB compares paths literally).
* The database is given separately (``database=``, setting ``[warehouse] database``). A server DSN
  may also name one in its path; when both are given they must agree.
* :func:`mask_dsn` is the only printable form of a DSN: the password never appears.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from warehouse.errors import WarehouseConfigError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class Target:
    """Where a DSN points, parsed and checked."""

    dsn: str
    client_dsn: str  # what clickhouse-connect gets: a server DSN without its database path
    masked: str
    embedded: bool
    path: Path | None  # the chDB data directory (embedded only), absolute and normalised
    password: str


def mask_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (safe to print and log)."""
    parts = urlsplit(dsn)
    if not parts.password:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_identifier(name: str, what: str) -> str:
    """Return ``name`` if it is a plain ClickHouse identifier, else raise naming ``what``."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise WarehouseConfigError(
            f"{what} {name!r} is not a plain identifier: letters, digits and _ only, "
            "not starting with a digit, at most 128 characters"
        )
    return name


def parse_dsn(dsn: str, database: str) -> Target:
    """Check ``dsn`` and ``database``; raise :class:`WarehouseConfigError` naming what is wrong."""
    check_identifier(database, "warehouse database")
    parts = urlsplit(dsn)
    masked = mask_dsn(dsn)
    if parts.scheme == "chdb":
        if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
            raise WarehouseConfigError(
                f"embedded warehouse DSN {masked!r} must be chdb:/// followed by an absolute "
                "directory, e.g. chdb:///srv/jdx/warehouse (JDX_WAREHOUSE_DSN)"
            )
        path = Path(os.path.realpath(unquote(parts.path)))
        return Target(
            dsn=dsn,
            client_dsn=f"chdb://{path}",
            masked=masked,
            embedded=True,
            path=path,
            password="",
        )
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise WarehouseConfigError(
                f"warehouse DSN {masked!r} has no host; expected {parts.scheme}://user:pass@host:port/"
            )
        in_path = unquote(parts.path.strip("/").split("/")[0]) if parts.path.strip("/") else ""
        if in_path and in_path != database:
            raise WarehouseConfigError(
                f"warehouse DSN {masked!r} names database {in_path!r} but the warehouse database "
                f"setting is {database!r}: drop the path from the DSN or set "
                f"JDX_WAREHOUSE_DATABASE={in_path}"
            )
        password = unquote(parts.password) if parts.password else ""
        return Target(
            dsn=dsn,
            client_dsn=urlunsplit(parts._replace(path="/")),
            masked=masked,
            embedded=False,
            path=None,
            password=password,
        )
    raise WarehouseConfigError(
        f"warehouse DSN {masked!r} must start with chdb:///, http:// or https:// (JDX_WAREHOUSE_DSN)"
    )
