"""Factories: every service of the exchange built from :class:`~exchange.settings.Settings`.

The one place that knows how the parts fit: the CLI, the demo and the tests ask here for a
loader, an SFTP server or the whole of ``jdx serve`` (:func:`serving`) instead of assembling
them. Nothing here parses command lines or prints.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exchange.settings import Settings
from warehouse.settings import WarehouseSettings

if TYPE_CHECKING:
    from ingest.loader import Loader
    from ingest.sealed import Keyring
    from ingest.sftp.filesystem import FileEvent
    from ingest.sftp.server import SFTPLandingServer
    from runtime.services import Service
    from warehouse import Warehouse


def setup_logging() -> None:
    """INFO for the exchange's own loggers (connections, logins, uploads, loads), WARNING else."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
        logging.getLogger("jdx").setLevel(logging.INFO)


@contextmanager
def open_warehouse(settings: Settings) -> Iterator[Warehouse]:
    """The warehouse of the settings' ``[warehouse]`` section (with its engine caps), closed on
    leaving."""
    from warehouse import open_configured

    with open_configured(settings.section(WarehouseSettings)) as wh:
        yield wh


def archive_keyring(settings: Settings) -> Keyring:
    """The archive keys from the settings (current and previous)."""
    from exchange.keyfiles import load_archive_keys
    from ingest.sealed import Keyring

    current, previous = load_archive_keys(settings)
    return Keyring(current, previous)


def build_loader(
    settings: Settings, wh: Warehouse, stopping: threading.Event | None = None
) -> Loader:
    """The loader over ``wh`` with the settings' member areas, registry and pepper; files are
    validated in memory-watched child processes (:class:`ingest.worker.IsolatedValidator`)."""
    from exchange.keyfiles import load_pepper
    from exchange.pseudonym import Pseudonymiser
    from exchange.registry import db as registry_db
    from ingest.loader import Loader, LoaderConfig
    from ingest.settings import IngestSettings
    from ingest.worker import IsolatedValidator
    from products.settings import ApiSettings
    from warehouse import MigrationError, pending

    s = settings
    registry_db.ensure_current(s.registry_url)
    missing = [m.name for m in pending(wh)]
    if missing:
        raise MigrationError(
            f"the warehouse schema lacks {', '.join(missing)}; run `jdx init` (or "
            "`jdx warehouse migrate`) before loading"
        )
    ingest = s.section(IngestSettings)
    pepper = load_pepper(s)
    return Loader(
        LoaderConfig.from_settings(ingest, dq_window_days=s.section(ApiSettings).reciprocity_days),
        registry_url=s.registry_url,
        warehouse=wh,
        pseudonymiser=Pseudonymiser(pepper),
        archive_keys=archive_keyring(s),
        stopping=stopping,
        validator=IsolatedValidator(
            pepper,
            memory_mb=ingest.validate_memory_mb,
            processes=ingest.validation_processes,
        ),
    )


def registry_authorized_keys(url: str) -> Callable[[str], list[str]]:
    """``member_code → OpenSSH key lines`` read from the registry now (one short session each)."""
    from exchange.registry import active_ssh_keys
    from exchange.registry import db as registry_db

    registry_db.ensure_current(url)  # a missing or outdated registry fails here, not at login

    def authorized_keys(member_code: str) -> list[str]:
        with registry_db.session(url, readonly=True) as db:
            return [key.openssh for key in active_ssh_keys(db, member_code)]

    return authorized_keys


def build_sftp_server(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    on_file_closed: FileEvent | None = None,
    on_file_renamed: FileEvent | None = None,
) -> SFTPLandingServer:
    """The members' SFTP server from the settings (``host``/``port`` override them), checking
    keys against the registry at every login. Used by ``jdx sftp serve`` and ``jdx serve``."""
    from ingest.settings import IngestSettings, SftpSettings
    from ingest.sftp.server import SFTPLandingServer

    sftp, ingest = settings.section(SftpSettings), settings.section(IngestSettings)
    if host is not None:
        sftp = sftp.model_copy(update={"host": host})
    if port is not None:
        sftp = sftp.model_copy(update={"port": port})
    keys = registry_authorized_keys(settings.registry_url)
    return SFTPLandingServer.from_settings(
        sftp, ingest, keys, on_file_closed=on_file_closed, on_file_renamed=on_file_renamed
    )


@dataclass
class Serving:
    """Everything ``jdx serve`` runs, in start order, with the parts others need to reach."""

    services: list[Service]
    api: Any  # products.service.ProductService
    loader: Loader


def serving(
    settings: Settings,
    wh: Warehouse,
    stop: threading.Event,
    *,
    host: str | None = None,
    port: int | None = None,
    threads: int | None = None,
    api_port: int | None = None,
) -> Serving:
    """The services of ``jdx serve`` over the warehouse it owns: the audit anchor, the loader,
    the SFTP server, the API (with SFTP batch files) and the dashboards mounted in its server at
    ``/dashboards/`` (public pages, and behind a login the member portal and the operations
    console, whose data :class:`runtime.dashboard_data.RuntimeData` answers), the scheduler
    and the admin channel; the data laboratory's
    JupyterHub when ``[lab] enabled``."""
    from dashboards.auth import Auth
    from dashboards.pages.console import WINDOW_DAYS as CONSOLE_DAYS
    from dashboards.pages.portal import WINDOW_DAYS as PORTAL_DAYS
    from dashboards.service import DashboardService
    from dashboards.settings import DashboardSettings
    from exchange.anchor import AnchorService, anchor_path
    from exchange.keyfiles import (
        ensure_admin_token,
        ensure_session_secret,
        load_session_secret,
        load_signing_key,
    )
    from ingest.service import LoaderService, SftpService
    from ingest.settings import IngestSettings
    from products.meter import LookupMeter, Metered
    from products.service import ProductService
    from reports.settings import ReportSettings
    from runtime.admin import AdminServer
    from runtime.dashboard_data import RuntimeData
    from runtime.scheduler import Scheduler
    from sandbox.service import LabService
    from sandbox.settings import LabSettings

    s = settings
    loader = build_loader(s, wh, stop)
    loading = LoaderService(
        loader,
        threads=threads or s.section(IngestSettings).loader_threads,
        poll_interval=s.section(IngestSettings).poll_interval,
    )
    from reports.render.pdf import write_pdf

    api = ProductService(s, warehouse=wh, port=api_port, render_pdf=write_pdf)
    releases = s.section(ReportSettings).releases_dir
    assert releases is not None  # filled in from the home when the settings load
    from products.settings import ApiSettings

    # the lookup routes' refusals and latency per minute, written to the warehouse (console)
    meter = LookupMeter(wh, s.section(ApiSettings).inquiry_fold_seconds)
    api.app.add_middleware(Metered, meter=meter)
    ensure_session_secret(s)
    auth = Auth.create(
        s.registry_url, load_session_secret(s), s.section(DashboardSettings), "/dashboards/"
    )
    data = RuntimeData(s, wh, meter)
    data.warm(PORTAL_DAYS, CONSOLE_DAYS)  # every member's DQ score, for the first page to ask
    pages = DashboardService(
        releases,
        url=lambda: api.url,
        auth=auth,
        data=data,
        province_geojson=s.section(DashboardSettings).province_geojson,
    )
    api.app.mount(pages.mount_path, pages.asgi)  # public pages, portal, console, beside the API

    def notify(member: str, path: Path) -> None:
        loading.notify(member, path)
        api.notify(member, path)

    server = build_sftp_server(
        s, host=host, port=port, on_file_closed=notify, on_file_renamed=notify
    )
    anchors = AnchorService(
        s.registry_url,
        load_signing_key(s),
        anchor_path(s.home),
        s.registry.audit_anchor_seconds,
    )
    ensure_admin_token(s)
    services: list[Service] = [
        anchors,
        loading,
        SftpService(server),
        meter,  # stopped after the API: the last answers are written too
        api,
        pages,
        Scheduler(s, wh),
        AdminServer(s, wh),
    ]
    if s.section(LabSettings).enabled:
        services.append(LabService(s, actor="lab"))
    return Serving(services, api, loader)
