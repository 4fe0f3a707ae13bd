"""Errors of the data laboratory (LAB0xx)."""

from __future__ import annotations

from exchange.errors import ConfigError, Conflict, InvalidInput, TerminalError, TransientError


class ExtractExists(Conflict):
    """A project's extract is written once; it is never rebuilt in place."""

    code = "LAB001"


class ProxyNotFound(ConfigError):
    """configurable-http-proxy (npm) is not installed where the settings look."""

    code = "LAB010"


class HubStartFailed(TransientError):
    """JupyterHub did not answer within the start timeout, or exited."""

    code = "LAB011"


class IsolationUnavailable(ConfigError):
    """Per-project users cannot be made or reached (not root, or a folder blocks the way)."""

    code = "LAB012"


class InterpreterUnreachable(ConfigError):
    """The single-user servers' Python is where project users cannot run it."""

    code = "LAB013"


class OutputFileRefused(InvalidInput):
    """A file named for release is not a plain regular file of the outputs folder, or changed."""

    code = "LAB027"


class JobCpuLimit(TerminalError):
    """A model-to-data job used up its CPU time ([lab] job_cpu_seconds)."""

    code = "LAB030"


class JobMemoryLimit(TerminalError):
    """A model-to-data job ran out of its memory ([lab] job_memory_mb)."""

    code = "LAB031"


class JobWallLimit(TerminalError):
    """A model-to-data job ran longer than [lab] job_wall_seconds."""

    code = "LAB032"


class JobFailed(TerminalError):
    """A model-to-data job exited with an error of its own (its log is kept for staff)."""

    code = "LAB033"


class DownloadRefused(InvalidInput):
    """The lab's Jupyter does not serve project data or data files (sandbox.jupyter)."""

    code = "LAB035"


class LabAccessRefused(InvalidInput):
    """The caller is not an analyst of this active project (or the hub does not know the token)."""

    code = "LAB034"
