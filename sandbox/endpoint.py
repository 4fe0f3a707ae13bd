"""The lab's ``outputs`` hub service: analysts' release requests and jobs from their notebooks.

A small HTTP server on 127.0.0.1:``[lab] outputs_port`` inside the lab's process (which holds
the registry), registered with JupyterHub as the service ``outputs`` (so it is also reachable
through the proxy at ``/services/outputs/``). Every call carries the caller's JupyterHub token
(``Authorization: token …``, the one a single-user server gives its kernels); the service asks
the hub who owns it (``GET /hub/api/user``) and acts only for an analyst of that active project.

| call | body | does |
|---|---|---|
| ``POST /release`` | ``{"project", "files": [...], "note"}`` | :func:`sandbox.outputs.submit` |
| ``POST /jobs`` | ``{"project", "script", "wait"}`` | :func:`sandbox.jobs.run` (in a thread when not ``wait``) |
| ``GET /jobs/<id>`` | | the job's status (never its log) |
| ``GET /requests`` | | the caller's projects' output requests |

Errors answer ``{"error": {"code", "message"}}`` with 400 (bad input), 403 (not an analyst of an
active project; LAB034), 404 or 409.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from exchange.errors import Conflict, InvalidInput, JdxError, NotFound
from exchange.registry import db as registry_db
from exchange.registry import outputs as registry_outputs
from exchange.registry import projects
from exchange.settings import Settings
from sandbox import jobs, outputs
from sandbox.errors import LabAccessRefused
from sandbox.settings import LabSettings

log = logging.getLogger("jdx.lab.outputs")
MAX_BODY = 64 * 1024


class OutputsEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lab = settings.section(LabSettings)
        self._server: ThreadingHTTPServer | None = None

    def who(self, token: str) -> str:
        """The hub user owning ``token`` (a refusal when the hub does not know it)."""
        try:
            answer = httpx.get(
                f"http://127.0.0.1:{self.lab.hub_port}/hub/api/user",
                headers={"Authorization": f"token {token}"},
                timeout=10,
            )
        except httpx.TransportError:
            raise LabAccessRefused("the hub cannot be reached to check the token") from None
        if answer.status_code != 200 or answer.json().get("kind") != "user":
            raise LabAccessRefused("the hub does not know this token as a user's")
        return str(answer.json()["name"])

    def active_project(self, user: str, project: Any) -> int:
        with registry_db.session(self.settings.registry_url, readonly=True) as db:
            active = {p.id for p in projects.active_projects(db, user)}
        try:
            wanted = int(project)
        except (TypeError, ValueError):
            raise LabAccessRefused(f"project {project!r} is not a project number") from None
        if wanted not in active:
            raise LabAccessRefused(f"{user} is not an analyst of an active lab project {wanted}")
        return wanted

    def handle(self, method: str, path: str, token: str, body: dict[str, Any]) -> Any:
        user = self.who(token)
        if method == "POST" and path == "/release":
            project = self.active_project(user, body.get("project"))
            files = body.get("files")
            if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                raise InvalidInput("files must be a list of file names of outputs/")
            note = str(body.get("note") or "") or None
            return outputs.submit(self.settings, project, user, files, note=note).as_dict()
        if method == "POST" and path == "/jobs":
            project = self.active_project(user, body.get("project"))
            script = str(body.get("script") or "")
            if body.get("wait", True):
                return jobs.run(self.settings, project, user, script).as_dict()
            jobs.read_script(outputs.project_dir(self.settings, project) / "work", script)
            threading.Thread(
                target=jobs.run, args=(self.settings, project, user, script), daemon=True
            ).start()
            return {"submitted": script}
        match = re.fullmatch(r"/jobs/(\d+)", path)
        with registry_db.session(self.settings.registry_url, readonly=True) as db:
            mine = {p.id for p in projects.active_projects(db, user)}
            if method == "GET" and match:
                found = [j for j in registry_outputs.list_jobs(db) if j.id == int(match[1])]
                if not found or found[0].project_id not in mine:
                    raise LabAccessRefused(f"job {match[1]} is not one of your active projects'")
                return found[0].as_dict()
            if method == "GET" and path == "/requests":
                return [r.as_dict() for p in sorted(mine)
                        for r in registry_outputs.list_requests(db, p)]  # fmt: skip
        raise NotFound(f"{method} {path} is not a call of the outputs service")

    def start(self) -> None:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                status, answer = 200, None
                try:
                    auth = self.headers.get("Authorization", "")
                    if not auth.startswith("token "):
                        raise LabAccessRefused("no token: send Authorization: token <token>")
                    size = int(self.headers.get("Content-Length") or 0)
                    if size > MAX_BODY:
                        raise LabAccessRefused("request body too large")
                    raw = self.rfile.read(size) if size else b"{}"
                    body = json.loads(raw or b"{}")
                    path = self.path.split("?")[0]
                    for prefix in ("/services/outputs",):
                        path = path.removeprefix(prefix)
                    answer = endpoint.handle(method, path.rstrip("/") or "/", auth[6:], body)
                except JdxError as e:
                    status = (
                        403 if isinstance(e, LabAccessRefused) else 404 if isinstance(e, NotFound)
                        else 409 if isinstance(e, Conflict) else 400
                    )  # fmt: skip
                    answer = {"error": {"code": e.code, "message": str(e)}}
                except ValueError:
                    status, answer = 400, {"error": {"code": "INVALID", "message": "not JSON"}}
                except Exception:
                    log.exception("outputs service failed on %s %s", method, self.path)
                    status = 500
                    answer = {"error": {"code": "INTERNAL", "message": "internal error"}}
                data = json.dumps(answer, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("outputs service: " + format, *args)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.lab.outputs_port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="lab-outputs", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
