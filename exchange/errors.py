"""The one exception base of the project.

Every error a user can cause is a :class:`JdxError` with a stable ``code`` and a message that lets
the reader fix it: what was received, what is allowed, and where one exists the command that fixes
it. Errors are *terminal* (bad input: report it, never retry) or *transient* (something outside is
unreachable: retry later); the marker classes say which.
"""

from __future__ import annotations


class JdxError(Exception):
    """Base of every error the project raises on purpose."""

    code: str = "JDX000"
    #: exit status the CLI uses for this error
    exit_code: int = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class TerminalError(JdxError):
    """Bad input or state: retrying the same thing fails the same way."""


class TransientError(JdxError):
    """A dependency failed (network, lock, disk): the same call may succeed later."""


class ConfigError(TerminalError):
    """A setting is missing or invalid; the message names every place that was looked at."""

    code = "CFG001"
    exit_code = 2


class NotFound(TerminalError):
    code = "NOT_FOUND"


class Conflict(TerminalError):
    code = "CONFLICT"


class InvalidInput(TerminalError):
    code = "INVALID"
