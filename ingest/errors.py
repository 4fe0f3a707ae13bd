"""The errors of the ingest stage, one class per code (``ING0xx``, ``SUB001``).

A member's bad *record* is not an exception: it is an issue in the receipt and the errors file
(:mod:`ingest.issues`, rules in :mod:`ingest.catalogue`). These are the errors of the stage's own
acts — a member area, a claim, the archive, the validator's child process, the submit client.
"""

from __future__ import annotations

from exchange.errors import (
    ConfigError,
    InvalidInput,
    JdxError,
    NotFound,
    TerminalError,
    TransientError,
)


class InvalidMemberCode(InvalidInput):
    """A member code that is not an institution code of the registry's form."""

    code = "ING001"


class BadDataFile(InvalidInput):
    """A control file names a data file that cannot be the one it describes."""

    code = "ING010"


class LoaderBusy(TransientError):
    """Another loader holds the members' areas (one loader per members root)."""

    code = "ING020"


class SealBroken(TerminalError):
    """A sealed file does not decrypt: damaged, edited, truncated, or not a sealed file."""

    code = "ING030"


class SealKeyUnknown(ConfigError):
    """A sealed file names a key the settings do not hold."""

    code = "ING031"


class ArchiveBusy(TransientError):
    """Another archive pass runs on these areas."""

    code = "ING032"


class ArchivedNotFound(NotFound):
    """No archived submission matches what was asked for."""

    code = "ING033"


class ArchivedAmbiguous(InvalidInput):
    """More than one archived submission matches: name it more precisely."""

    code = "ING034"


class MemoryLimit(JdxError):
    """The file needed more memory than one file may use (terminal: F120)."""

    code = "ING035"

    def __init__(self, message: str, *, peak_mb: float, limit_mb: int) -> None:
        super().__init__(message)
        self.peak_mb = peak_mb
        self.limit_mb = limit_mb


class ValidatorFailed(JdxError):
    """The child died or timed out for another reason (counted as a failed attempt)."""

    code = "ING036"


class SubmitError(JdxError):
    """Bad usage or no connection: nothing (or not everything) reached the exchange."""

    code = "SUB001"
    exit_code = 2  # ingest.sftp.client.EXIT_USAGE
