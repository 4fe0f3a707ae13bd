"""The composition root: every service of the exchange built from settings, run together, and
reached by staff commands through the admin channel.

Layers (import-linter checks them, ``pyproject.toml``)::

    cli > runtime > products | reports | dashboards | sandbox > ingest > warehouse > exchange (core)

* :mod:`runtime.services` — the :class:`~runtime.services.Service` protocol and :func:`run`;
* :mod:`runtime.build` — factories: warehouse, loader, SFTP server, API, the whole of
  ``jdx serve``;
* :mod:`runtime.commands` — staff commands with one implementation each, run in the serving
  process (through the admin channel) or in-process when no server runs;
* :mod:`runtime.admin` — the admin channel (a 0600 Unix socket, staff token, audited).
"""
