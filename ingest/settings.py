"""Settings of the SFTP landing service (``[sftp]``, ``JDX_SFTP_*``) and of the member areas
(``[ingest]``, ``JDX_INGEST_*``).

Both follow :mod:`exchange.settings`: environment beats the config file's section, which beats the
defaults; every field is documented. Path defaults that depend on the data directory are ``None``
here and filled in by :func:`resolve_paths` from ``JDX_HOME``:

- ``[sftp] host_key`` → ``<home>/secrets/sftp_host_ed25519`` (generated once, mode 0600)
- ``[ingest] members_root`` → ``<home>/members`` (one area per member, see :mod:`ingest.areas`)

The flow-control defaults (16 MiB window, 128 KiB packets) were measured on this machine to give
≈ 80 MB/s with the stock OpenSSH client on loopback; paramiko's own defaults (2 MiB / 32 KiB) give
≈ 55 MB/s.
"""

from __future__ import annotations

from pathlib import Path

from exchange.settings import IngestSettings, Settings, SftpSettings

HOST_KEY_FILE = "sftp_host_ed25519"
MEMBERS_DIR = "members"


def resolve_paths(
    sftp: SftpSettings, ingest: IngestSettings, home: Path
) -> tuple[SftpSettings, IngestSettings]:
    """Fill the path defaults from the data directory; relative paths are taken from ``home``."""
    home = home.absolute()
    key = sftp.host_key or home / "secrets" / HOST_KEY_FILE
    root = ingest.members_root or home / MEMBERS_DIR
    return (
        sftp.model_copy(update={"host_key": key if key.is_absolute() else home / key}),
        ingest.model_copy(update={"members_root": root if root.is_absolute() else home / root}),
    )


def from_settings(settings: Settings) -> tuple[SftpSettings, IngestSettings]:
    """The ``[sftp]`` and ``[ingest]`` sections of the loaded settings, paths resolved.

    ``load_settings`` already resolves them; this keeps one call for both sections.
    """
    return resolve_paths(settings.sftp, settings.ingest, settings.home)
