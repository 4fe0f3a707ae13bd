"""Errors of the release pipeline. Every message says what was found and how to go on."""

from __future__ import annotations

from exchange.errors import Conflict, InvalidInput, NotFound, TerminalError


class ReportError(TerminalError):
    code = "REP000"


class NoData(NotFound):
    """The release month has no account states in the warehouse."""

    code = "REP001"


class BadMonth(InvalidInput):
    code = "REP002"


class ReleaseConflict(Conflict):
    """Another build published the same version first (releases are immutable)."""

    code = "REP003"


class RenderError(ReportError):
    """A chart, the HTML or the PDF could not be produced."""

    code = "REP004"


class ManifestInvalid(ReportError):
    """A release's files or signature do not match its manifest."""

    code = "REP005"


class DisclosureAuditFailed(ReportError):
    """A suppressed figure could be pinned down from the published ones; nothing is published."""

    code = "REP006"
