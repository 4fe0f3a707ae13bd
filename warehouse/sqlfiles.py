"""The SQL files shipped in the ``sql`` package: reading, comment stripping, statement splitting,
named queries.

Invariants:

* Files are found through ``importlib.resources.files("sql")``, so an installed ``jdx`` finds the
  same files as a checkout. Named queries are read once per process and cached; migrations are
  read afresh each time (their checksums must describe the files as they are).
* Comments (``--`` to end of line and ``/* ... */``, which ClickHouse lets nest) are removed by a
  small lexer that knows string literals (``'...'``) and quoted identifiers (``"..."``,
  `` `...` ``): a ``;`` or ``--`` inside a literal or a comment never splits or truncates a
  statement. ``#`` comments and ``$$`` heredocs are not used in this project and not recognised.
* A named query is ``sql/queries/<name>.sql`` holding exactly one statement whose values come only
  from ClickHouse ``{name:Type}`` parameters; its header comment documents purpose, parameters
  and result columns. Its parameters are read from the SQL (outside literals and comments) so a
  caller passing a missing or extra one gets an error before anything reaches the server.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from warehouse.errors import QueryParameterError, SqlSyntaxError, UnknownQuery

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}")
QUERY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _lex(text: str, where: str, blank_literals: bool = False) -> tuple[str, list[int]]:
    """Return ``text`` without comments, and the offsets of statement-ending ``;`` in it.

    Comments become one space (a line comment keeps its newline) so tokens never fuse. With
    ``blank_literals`` every quoted literal or identifier becomes ``''`` (to look for parameters
    only where ClickHouse would see them).
    """
    out: list[str] = []
    ends: list[int] = []
    size = 0  # characters emitted so far

    def emit(piece: str) -> None:
        nonlocal size
        out.append(piece)
        size += len(piece)

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j  # the newline itself is kept
            emit(" ")
        elif ch == "/" and text.startswith("/*", i):
            depth, j = 1, i + 2
            while depth and j < n:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise SqlSyntaxError(f"{where}: unterminated /* comment at offset {i}")
            emit(" ")
            i = j
        elif ch in "'\"`":
            j = i + 1
            while True:
                if j >= n:
                    raise SqlSyntaxError(f"{where}: unterminated {ch} quote at offset {i}")
                if text[j] == "\\":
                    j += 2
                elif text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:  # doubled quote inside the literal
                        j += 2
                    else:
                        break
                else:
                    j += 1
            emit("''" if blank_literals else text[i : j + 1])
            i = j + 1
        else:
            if ch == ";":
                ends.append(size)
            emit(ch)
            i += 1
    return "".join(out), ends


def strip_comments(text: str, where: str = "SQL") -> str:
    """``text`` without comments; literals and quoted identifiers are left untouched."""
    return _lex(text, where)[0]


def split_statements(text: str, where: str = "SQL") -> list[str]:
    """The statements of ``text``, comments removed, split on ``;`` outside literals; no empties."""
    clean, ends = _lex(text, where)
    pieces, start = [], 0
    for end in [*ends, len(clean)]:
        piece = clean[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end + 1
    return pieces


def placeholders(sql: str) -> dict[str, str]:
    """``{name:Type}`` parameters of a statement, outside literals and comments: name → type."""
    found: dict[str, str] = {}
    for name, type_ in _PLACEHOLDER.findall(_lex(sql, "SQL", blank_literals=True)[0]):
        if found.setdefault(name, type_.strip()) != type_.strip():
            raise QueryParameterError(
                f"parameter {name} is declared with two types: {found[name]} and {type_.strip()}"
            )
    return found


def sql_root() -> Traversable:
    """The ``sql`` package directory (works from a checkout and from an installed wheel)."""
    return resources.files("sql")


def read_text(*parts: str) -> str:
    """The text of ``sql/<parts...>`` (from the cached bytes)."""
    return read_bytes(*parts).decode("utf-8")


def read_file(*parts: str) -> bytes:
    """The bytes of ``sql/<parts...>`` as they are on disk now (migrations: never cached, so a
    checksum always describes the file as it is)."""
    node = sql_root()
    for part in parts:
        node = node.joinpath(part)
    return node.read_bytes()


@functools.cache
def read_bytes(*parts: str) -> bytes:
    """The bytes of ``sql/<parts...>``, cached for the life of the process (named queries)."""
    return read_file(*parts)


def list_files(folder: str) -> list[str]:
    """Names of the ``.sql`` files in ``sql/<folder>/``, sorted."""
    node = sql_root().joinpath(folder)
    if not node.is_dir():
        return []
    return sorted(p.name for p in node.iterdir() if p.is_file() and p.name.endswith(".sql"))


def query_names() -> list[str]:
    """The names of all named queries (``sql/queries/*.sql`` without the suffix)."""
    return [f[: -len(".sql")] for f in list_files("queries") if QUERY_NAME.match(f[:-4])]


@dataclass(frozen=True)
class NamedQuery:
    """One ``sql/queries/<name>.sql``, ready to send: comments stripped, parameters known."""

    name: str
    sql: str
    params: dict[str, str]

    def check_params(self, given: dict[str, object]) -> None:
        """Raise :class:`QueryParameterError` unless ``given`` names exactly :attr:`params`."""
        missing = sorted(set(self.params) - set(given))
        extra = sorted(set(given) - set(self.params))
        if missing or extra:
            wanted = ", ".join(f"{k}:{t}" for k, t in sorted(self.params.items())) or "none"
            problems = []
            if missing:
                problems.append("missing " + ", ".join(missing))
            if extra:
                problems.append("unexpected " + ", ".join(extra))
            raise QueryParameterError(
                f"query {self.name}: {'; '.join(problems)} (parameters: {wanted})"
            )


@functools.cache
def named_query(name: str) -> NamedQuery:
    """Load ``sql/queries/<name>.sql``; unknown names raise :class:`UnknownQuery` listing all."""
    known = query_names()
    if name not in known:
        raise UnknownQuery(
            f"no named query {name!r} (sql/queries/{name}.sql); known: {', '.join(known) or 'none'}"
        )
    where = f"sql/queries/{name}.sql"
    statements = split_statements(read_text("queries", f"{name}.sql"), where)
    if len(statements) != 1:
        raise SqlSyntaxError(f"{where} must hold exactly one statement, found {len(statements)}")
    return NamedQuery(name=name, sql=statements[0], params=placeholders(statements[0]))
