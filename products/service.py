"""The API as a service object that the process owning the warehouse composes.

Embedded chDB lets one process own the data directory (DOMAIN.md §7), so the API cannot be a
separate process next to the loader: ``jdx serve`` (the owner) builds one
:class:`ProductService` with the :class:`~warehouse.Warehouse` it already holds and calls
:meth:`~ProductService.start` / :meth:`~ProductService.stop`; ``jdx api serve`` does the same
with a warehouse of its own. It is a :class:`runtime.services.Service` (``name``, ``start``,
``stop(timeout)``, ``describe``), so ``jdx serve`` runs it in its list after the loader and the
SFTP server. Interface::

    service = ProductService(settings, warehouse=wh)   # wh: None → opened (and migrated) here
    service.start()          # journal replay, batch worker, SFTP batch files, uvicorn; returns when bound
    service.url              # "http://127.0.0.1:8400"
    service.app              # the FastAPI app (to mount in another ASGI server instead)
    service.notify(member, path)   # SFTP server callback: a batch file may have arrived
    service.stop()           # stops uvicorn, finishes the running batch job, flushes inquiries

It also answers batch files members upload over SFTP (:mod:`products.sftp_batch`): their jobs
need the warehouse, so they run here, in the process that owns it.

Invariants: :meth:`start` returns only once the port is bound (or raises); a warehouse passed
in must already be migrated (the service migrates only a warehouse it opens itself); :meth:`stop` is
idempotent and leaves every answered lookup in the warehouse; a warehouse passed in is never
closed here (its owner closes it); nothing here logs a token or an identity.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exchange import identity
from exchange.errors import ConfigError
from exchange.keyfiles import load_pepper
from exchange.pseudonym import Pseudonymiser
from exchange.settings import Settings
from ingest.settings import IngestSettings
from products.auth import Authenticator
from products.batch import BatchJobs
from products.consents import ConsentCheck
from products.control import RateLimiter, Reciprocity
from products.disputes import DisputeBook
from products.errors import Unavailable
from products.inquiry_log import InquiryLog
from products.settings import ApiSettings
from products.sftp_batch import SftpBatches
from warehouse import Warehouse, migrate, open_configured, pending
from warehouse.settings import WarehouseSettings

log = logging.getLogger(__name__)


class ProductService:
    """Everything the API needs, started and stopped together (see the module docstring)."""

    name = "api"

    def __init__(
        self,
        settings: Settings,
        *,
        warehouse: Warehouse | None = None,
        host: str | None = None,
        port: int | None = None,
        render_pdf: Callable[[str, Path, Path], Path] | None = None,
    ) -> None:
        self.settings = settings
        #: prints an HTML page to PDF (the composition root passes the releases' writer)
        self.render_pdf = render_pdf
        self.cfg = settings.section(ApiSettings)
        self._own_wh = warehouse is None
        self._wh = warehouse
        self.host = host or self.cfg.host
        self.port = self.cfg.port if port is None else port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._started = False
        from products.app import create_app  # app imports routes, which import this module

        self.app = create_app(self)
        assert self.cfg.data_dir is not None
        self.data_dir = self.cfg.data_dir

    # -- parts the routes use ------------------------------------------------------------------

    @property
    def wh(self) -> Warehouse:
        if self._wh is None:
            raise Unavailable("the API is not started: its warehouse is not open")
        return self._wh

    def start(self) -> None:
        if self._started:
            return
        s = self.settings
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._wh is None:
            self._wh = open_configured(s.section(WarehouseSettings))
            migrate(self._wh)
        else:
            missing = [m.name for m in pending(self._wh)]
            if missing:
                raise ConfigError(
                    f"the warehouse lacks migration(s) {', '.join(missing)} the API needs; run "
                    "`jdx init` (or `jdx warehouse migrate`) while no server owns it"
                )
        self.pseudonymiser = Pseudonymiser(load_pepper(s))
        identity.warm()
        self.authenticator = Authenticator(s.registry_url, self.cfg.auth_cache_seconds)
        self.disputes = DisputeBook(s.registry_url)
        self.consents = ConsentCheck(s.registry_url, self.cfg.auth_cache_seconds)
        self.limiter = RateLimiter(self.cfg.rate_per_second, self.cfg.rate_burst)
        icfg = s.section(IngestSettings)
        self.reciprocity = Reciprocity(self._wh, self.cfg, icfg.dq_threshold)
        self.inquiries = InquiryLog(
            self._wh,
            s.registry_url,
            self.data_dir / "journal",
            self.cfg.inquiry_flush_seconds,
            self.cfg.inquiry_fold_seconds,
        )
        self.inquiries.start()
        self.sftp_batches = SftpBatches(
            self, icfg.members_root or s.home / "members", icfg.poll_interval, icfg.control_grace,
        )  # fmt: skip
        self.batches = BatchJobs(
            self._wh, self.inquiries, self.cfg, self.data_dir / "batch", self.sftp_batches.answer,
            consents=self.consents,
        )  # fmt: skip
        self.batches.start()
        self.sftp_batches.start()
        self._serve()
        self._started = True

    def notify(self, member: str, path: Path) -> None:
        """SFTP server callback (any thread): a file was closed or renamed in an inbox."""
        batches = getattr(self, "sftp_batches", None)
        if batches is not None:
            batches.notify(member, path)

    def describe(self) -> list[str]:
        """What ``jdx serve`` prints at start: where the API and its docs are."""
        return [
            f"api: {self.url} (OpenAPI docs {self.url}/docs, schema {self.url}/openapi.json), "
            f"batch jobs and inquiry journal under {self.data_dir}",
            f"batch files: <base>.batch.csv + <base>.ctl in members' inbox/, answered in "
            f"outbox/ (scanned every {self.sftp_batches.poll_interval:g} s)"
            if self.sftp_batches.active
            else "batch files: answered by another process (it holds the members root's lock)",
        ]

    def _serve(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            access_log=False,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=10,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="jdx-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._stop_parts()
                raise Unavailable(
                    f"the API could not listen on {self.host}:{self.port} (port in use? set "
                    "JDX_API_PORT or [api] port)"
                )
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        if not self._started:
            return
        self._started = False
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=max(timeout, 30.0))
            self._thread = None
        self._stop_parts()

    def _stop_parts(self) -> None:
        for part in ("sftp_batches", "batches", "inquiries"):
            obj = getattr(self, part, None)
            if obj is not None:
                try:
                    obj.stop()
                except Exception:
                    log.exception("stopping the %s failed", part)
        if self._own_wh and self._wh is not None:
            self._wh.close()
            self._wh = None

    def wait(self) -> None:
        """Block until the server thread ends (``jdx api serve``; Ctrl-C stops it)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)
