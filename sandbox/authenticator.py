"""JupyterHub's authenticator and spawner for the data laboratory, backed by the registry.

Loaded inside the hub's process (the config :mod:`sandbox.hubconfig` writes names them).

- :class:`RegistryAuthenticator` lets a user in when the registry knows them as an analyst, the
  password matches the argon2id hash (``jdx user set-password``) and they are an analyst of at
  least one approved project whose end date has not passed. The hub groups it returns are
  ``project-<id>``, one per active project (``manage_groups``). Unknown users, staff, wrong
  passwords, rejected, applied and expired projects all get the same refusal (None), and the
  hub logs no password. A logged-in user whose projects have all ended must log in again (the
  hub refreshes the user every ``auth_refresh_age`` seconds and before each spawn), and fails.
- :class:`ProjectSpawner` runs the single-user server as a local process, as the project's
  system user ``jdx-lab-p<id>`` (:mod:`sandbox.isolation`, made on first use), rooted at the
  analyst's newest active project directory: ``data/`` (read-only extract) beside ``work/``
  (the server's home and working directory), ``outputs/`` and ``released/``, under the
  ``[lab]`` memory and CPU-time limits (rlimits, :func:`sandbox.isolation.limited`). The spawn
  is refused when no project is active.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from exchange import audit
from exchange.registry import db as registry_db
from exchange.registry import projects
from exchange.registry.users import check_password
from sandbox import isolation


def _registry_url() -> str:
    from sandbox.hubconfig import settings

    return settings().registry_url


def _projects_dir() -> Path:
    from sandbox.hubconfig import settings
    from sandbox.settings import LabSettings

    found = settings().section(LabSettings).projects_dir
    assert found is not None
    return found


def login(url: str, username: str, password: str) -> dict[str, Any] | None:
    """The hub's auth model for a lab login, or None (one answer for every refusal). A login
    let in is an act of the analyst in the audit chain (``lab.login``)."""
    with registry_db.session(url) as db:
        user = check_password(db, username, password)
        if user is None or user.role.value != "analyst":
            return None
        active = projects.active_projects(db, user.username)
        if not active:
            return None
        audit.append(db, actor=user.username, action="lab.login",
                     obj=f"lab_project:{active[0].id}",
                     details={"projects": [p.id for p in active]})  # fmt: skip
    return {"name": user.username, "groups": [f"project-{p.id}" for p in active]}


def has_active_project(url: str, username: str) -> bool:
    with registry_db.session(url, readonly=True) as db:
        return bool(projects.active_projects(db, username))


class RegistryAuthenticator(Authenticator):
    """Analysts of an active approved project, with their registry password."""

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        username = self.normalize_username(str(data.get("username", "")))
        password = str(data.get("password", ""))
        # argon2 takes tens of milliseconds: off the hub's event loop
        result = await asyncio.to_thread(login, _registry_url(), username, password)
        if result is None:
            self.log.warning("lab login refused for %r", username)
        return result

    async def refresh_user(self, user: Any, handler: Any = None) -> bool:
        """False (log in again) once the user has no active project: checked every
        ``auth_refresh_age`` seconds and before every spawn (``refresh_pre_spawn``)."""
        return await asyncio.to_thread(has_active_project, _registry_url(), user.name)


class ProjectSpawner(LocalProcessSpawner):
    """A local single-user server in the analyst's newest active project directory, run as the
    project's system user (:mod:`sandbox.isolation`) unless ``[lab] isolate`` is off."""

    project_dir = Unicode("", help="The project directory this server was started in.")

    def _lab(self) -> Any:
        from sandbox.hubconfig import settings
        from sandbox.settings import LabSettings

        return settings().section(LabSettings)

    async def start(self) -> Any:
        with registry_db.session(_registry_url(), readonly=True) as db:
            active = projects.active_projects(db, self.user.name)
        if not active:
            raise RuntimeError(f"{self.user.name} has no active lab project")
        with registry_db.session(_registry_url()) as db:  # an act of the analyst, chained
            audit.append(db, actor=self.user.name, action="lab.server_start",
                         obj=f"lab_project:{active[0].id}")  # fmt: skip
        project = active[0].id
        root = _projects_dir() / str(project)
        work = root / "work"
        lab = self._lab()
        if lab.isolate:
            from sandbox.hubconfig import settings

            isolation.harden_home(settings().home, _projects_dir())
            self._account: isolation.Account | None = (
                await asyncio.to_thread(isolation.provision, root, project)
            ).user
        else:
            work.mkdir(parents=True, exist_ok=True)
            (root / "config").mkdir(exist_ok=True)
            (root / "config" / "migrated").touch()  # see isolation.provision
            self._account = None
        self.project_dir = str(root)
        self.home_dir = str(work)
        self.notebook_dir = str(root)
        env: dict[str, Any] = dict(getattr(self, "environment", {}))
        env["JDX_LAB_PROJECT"] = str(project)
        env["JDX_LAB_OUTPUTS_URL"] = f"http://127.0.0.1:{lab.outputs_port}/"
        self.environment = env
        return await super().start()

    def make_preexec_fn(self, name: str) -> Any:
        """Limits first (``[lab] server_memory_mb``, ``server_cpu_seconds``), then the project's
        user; kernels inherit both."""
        work = Path(self.home_dir)
        lab = self._lab()
        if self._account is not None:
            then = isolation.demote(self._account, work)
        else:

            def then() -> None:  # trusted testing only: the hub's own user
                os.umask(isolation.UMASK)
                os.chdir(work)

        return isolation.limited(
            then, memory_mb=lab.server_memory_mb, cpu_seconds=lab.server_cpu_seconds
        )

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        account = getattr(self, "_account", None)
        env["USER"] = account.name if account is not None else self.user.name
        env["HOME"] = self.home_dir
        env["SHELL"] = "/bin/sh"
        keep = ("JDX_LAB_PROJECT", "JDX_LAB_OUTPUTS_URL")
        for name in [n for n in env if n.startswith("JDX_") and n not in keep]:
            del env[name]
        env.pop("PYTHONPATH", None)
        # What the server loads at start is not the project user's to choose: its HOME (work/)
        # is theirs, so no Jupyter config from it (the project's root-owned, empty config/ is
        # the config folder), no user site-packages or .pth files, and not the working folder
        # first on sys.path (``python -m`` puts it there: a work/jupyterhub/ would shadow the
        # server). Kernels inherit this; IPython still imports the notebook folder's modules.
        env["JUPYTER_CONFIG_DIR"] = str(Path(self.project_dir) / "config")
        for name in ("JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH", "PYTHONSTARTUP"):
            env.pop(name, None)
        env["PYTHONNOUSERSITE"] = "1"
        env["PYTHONSAFEPATH"] = "1"
        return env
