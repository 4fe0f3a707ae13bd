"""Errors of the data laboratory (LAB0xx)."""

from __future__ import annotations

from exchange.errors import ConfigError, Conflict, TransientError


class ExtractExists(Conflict):
    """A project's extract is written once; it is never rebuilt in place."""

    code = "LAB001"


class ProxyNotFound(ConfigError):
    """configurable-http-proxy (npm) is not installed where the settings look."""

    code = "LAB010"


class HubStartFailed(TransientError):
    """JupyterHub did not answer within the start timeout, or exited."""

    code = "LAB011"
