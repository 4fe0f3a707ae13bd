"""The data laboratory as a service: JupyterHub (with its proxy) in a child process of jdx.

:class:`LabService` (``jdx lab serve``; inside ``jdx serve`` when ``[lab] enabled``) writes the
hub's config file (which only calls :func:`sandbox.hubconfig.configure`), starts ``jupyterhub``
as a child process (it starts configurable-http-proxy), waits until the hub's REST API answers,
and then every ``[lab] expiry_check_seconds`` marks projects past their end date expired (in
the registry, audited) and stops their analysts' servers through the hub API (the ``jdx``
service token), and closes those expired ``[lab] close_after_days`` ago (:mod:`sandbox.closing`).
``stop()`` sends SIGTERM to the hub — which stops the proxy and the servers it
spawned — and SIGKILL only after the timeout (SIGKILL would orphan its children).

The hub's output goes to ``<hub_dir>/jupyterhub.log``. Nothing here logs the token.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx

from exchange.registry import db as registry_db
from exchange.registry import projects
from exchange.settings import Settings
from sandbox import closing, isolation
from sandbox.endpoint import OutputsEndpoint
from sandbox.errors import HubStartFailed
from sandbox.hubconfig import SERVICE, hub_token, proxy_command, python
from sandbox.settings import LabSettings

log = logging.getLogger("jdx.lab")
CONFIG_TEXT = (
    "# Written by jdx: every value comes from jdx's settings (sandbox.hubconfig).\n"
    "from sandbox.hubconfig import configure\n\nconfigure(c)  # noqa: F821\n"
)


class LabService:
    """JupyterHub for the data laboratory; see the module docstring."""

    name = "lab"

    def __init__(self, settings: Settings, *, actor: str = "lab") -> None:
        self.settings = settings
        self.lab = settings.section(LabSettings)
        self.actor = actor
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outputs: OutputsEndpoint | None = None

    @property
    def url(self) -> str:
        return f"http://{self.lab.host}:{self.lab.port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.lab.hub_port}/hub/api"

    def client(self) -> httpx.Client:
        """An HTTP client for the hub's REST API as the ``jdx`` service."""
        return httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"token {hub_token(self.settings)}"},
            timeout=30,
        )

    def start(self) -> None:
        hub_dir = self.lab.hub_dir
        assert hub_dir is not None and self.lab.projects_dir is not None
        proxy_command(self.lab)  # fail now, clearly, when the proxy is missing
        hub_token(self.settings)
        hub_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(hub_dir, 0o700)
        self.lab.projects_dir.mkdir(parents=True, exist_ok=True)
        if self.lab.isolate:  # fail now, clearly, when servers could not run as project users
            isolation.require_root()
            isolation.check_interpreter(python(self.lab))
            isolation.harden_home(self.settings.home, self.lab.projects_dir)
        config = hub_dir / "jupyterhub_config.py"
        config.write_text(CONFIG_TEXT)
        env = dict(os.environ)
        env["JDX_HOME"] = str(self.settings.home)
        if self.settings.config_file is not None:
            env["JDX_CONFIG"] = str(self.settings.config_file)
        exe = Path(sys.executable).parent / "jupyterhub"
        self._log = (hub_dir / "jupyterhub.log").open("ab")
        self._proc = subprocess.Popen(
            [str(exe), "-f", str(config)],
            cwd=hub_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
            self._outputs = OutputsEndpoint(self.settings)
            self._outputs.start()
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._expiry_loop, name="lab-expiry", daemon=True)
        self._thread.start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.lab.start_timeout
        assert self._proc is not None
        with self.client() as api:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise HubStartFailed(
                        f"JupyterHub exited with status {self._proc.returncode} while starting; "
                        f"see {self.lab.hub_dir}/jupyterhub.log"
                    )
                try:
                    if api.get("/").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise HubStartFailed(
            f"JupyterHub did not answer on {self.api_url} within {self.lab.start_timeout:g} s "
            f"([lab] start_timeout); see {self.lab.hub_dir}/jupyterhub.log"
        )

    def expire(self) -> list[int]:
        """Mark projects past their end date expired and stop their analysts' servers (one in
        another active project starts again there); the projects expired now."""
        with registry_db.session(self.settings.registry_url) as db:
            ended = projects.expire_due(db, actor=self.actor)
        names = {name for p in ended for name in p.analysts}
        if names:
            with self.client() as api:
                for name in sorted(names):
                    api.delete(f"/users/{name}/server")
        return [p.id for p in ended]

    def _expiry_loop(self) -> None:
        while not self._stop.wait(self.lab.expiry_check_seconds):
            try:
                self.expire()
                closing.close_due(self.settings, actor=self.actor)
            except Exception:
                log.exception(
                    "lab expiry check failed; retried in %s s", self.lab.expiry_check_seconds
                )

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._outputs is not None:
            self._outputs.stop()
            self._outputs = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("JupyterHub did not stop in %s s: killing its process group", timeout)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def describe(self) -> list[str]:
        return [
            f"lab: JupyterHub at {self.url}/hub/ (hub API {self.api_url}, service {SERVICE})",
            f"lab: projects in {self.lab.projects_dir}",
            f"lab: outputs service on 127.0.0.1:{self.lab.outputs_port} (release requests, jobs)",
        ]

    def __enter__(self) -> LabService:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
