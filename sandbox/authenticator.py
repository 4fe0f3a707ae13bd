"""JupyterHub's authenticator and spawner for the data laboratory, backed by the registry.

Loaded inside the hub's process (the config :mod:`sandbox.hubconfig` writes names them).

- :class:`RegistryAuthenticator` lets a user in when the registry knows them as an analyst, the
  password matches the argon2id hash (``jdx user set-password``) and they are an analyst of at
  least one approved project whose end date has not passed. The hub groups it returns are
  ``project-<id>``, one per active project (``manage_groups``). Unknown users, staff, wrong
  passwords, rejected, applied and expired projects all get the same refusal (None), and the
  hub logs no password. A logged-in user whose projects have all ended must log in again (the
  hub refreshes the user every ``auth_refresh_age`` seconds and before each spawn), and fails.
- :class:`ProjectSpawner` runs the single-user server as a local process (JupyterHub's
  ``SimpleLocalProcessSpawner``: no OS user per project, see docs/lab.md) rooted at the
  analyst's newest active project directory: ``data/`` (read-only extract) beside ``work/``
  (the server's home and working directory). The spawn is refused when no project is active.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Unicode

from exchange import audit
from exchange.registry import db as registry_db
from exchange.registry import projects
from exchange.registry.users import check_password


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


class ProjectSpawner(SimpleLocalProcessSpawner):
    """A local single-user server in the analyst's newest active project directory."""

    project_dir = Unicode("", help="The project directory this server was started in.")

    async def start(self) -> Any:
        with registry_db.session(_registry_url(), readonly=True) as db:
            active = projects.active_projects(db, self.user.name)
        if not active:
            raise RuntimeError(f"{self.user.name} has no active lab project")
        with registry_db.session(_registry_url()) as db:  # an act of the analyst, chained
            audit.append(db, actor=self.user.name, action="lab.server_start",
                         obj=f"lab_project:{active[0].id}")  # fmt: skip
        root = _projects_dir() / str(active[0].id)
        work = root / "work"
        work.mkdir(parents=True, exist_ok=True)
        self.project_dir = str(root)
        self.home_dir = str(work)
        self.notebook_dir = str(root)
        env: dict[str, Any] = dict(getattr(self, "environment", {}))
        env["JDX_LAB_PROJECT"] = str(active[0].id)
        self.environment = env
        return await super().start()

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        env = super().user_env(env)
        for name in [n for n in env if n.startswith("JDX_") and n != "JDX_LAB_PROJECT"]:
            del env[name]
        env.pop("PYTHONPATH", None)
        return env


def singleuser_command() -> list[str]:
    """The single-user server of this environment (``--allow-root`` when the hub runs as root)."""
    import sys

    exe = Path(sys.executable).parent / "jupyterhub-singleuser"
    return [str(exe), *(["--allow-root"] if os.geteuid() == 0 else [])]
