"""The errors of the runtime: the admin channel and its commands (``ADM0xx``)."""

from __future__ import annotations

from exchange.errors import InvalidInput, JdxError, TransientError


class AdminRefused(JdxError):
    """The server refused the request (token, user, unknown command)."""

    code = "ADM001"


class NoServer(TransientError):
    """No ``jdx serve`` listens on the admin socket."""

    code = "ADM002"


class RemoteError(JdxError):
    """The command failed inside the server; carries the server's code."""

    code = "ADM003"

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)


class UnknownCommand(InvalidInput):
    """The admin channel knows no command of that name."""

    code = "ADM004"


class ServerRunning(JdxError):
    """A command that must not run beside ``jdx serve`` was started while it runs."""

    code = "ADM005"
