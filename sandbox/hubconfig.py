"""JupyterHub's configuration for the data laboratory, built from jdx's settings.

The config file the lab writes (``<hub_dir>/jupyterhub_config.py``) holds no value: it calls
:func:`configure`, which reads the settings in the hub's own process (``JDX_HOME``,
``JDX_CONFIG`` and ``JDX_*`` from its environment) and the hub API token from the settings or
``<home>/secrets/lab_hub_token``. So no secret is ever written into a config file or a log.

What it sets: the proxy's public side on ``[lab] host:port``, the hub and the proxy's API on
127.0.0.1; the hub's database and cookie secret under ``[lab] hub_dir``; the registry-backed
authenticator and the project spawner (:mod:`sandbox.authenticator`), whose servers run
``[lab] python -m jupyterhub.singleuser`` as the project's user; the service ``jdx``, whose token
(the hub API token) carries a role limited to users, servers, groups and tokens, and the service
``outputs`` (:mod:`sandbox.endpoint`, no token of its own: it checks its callers' tokens).
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from exchange.settings import Settings, load_settings
from sandbox.errors import ProxyNotFound
from sandbox.settings import LabSettings

SERVICE = "jdx"
OUTPUTS_SERVICE = (
    "outputs"  # sandbox.endpoint: output release and jobs, reached at /services/outputs/
)
SERVICE_SCOPES = ["admin:users", "admin:servers", "admin:groups", "tokens", "list:users"]
PROXY = "configurable-http-proxy"
CONTENTS_MANAGER = "sandbox.jupyter.ProjectContentsManager"
TOKEN_FILE = "lab_hub_token"


@functools.cache
def settings() -> Settings:
    return load_settings(os.environ.get("JDX_CONFIG") or None)


def proxy_command(lab: LabSettings) -> Path:
    """configurable-http-proxy: the setting, else PATH, else ``<venv>/node/node_modules/.bin``."""
    venv = Path(sys.prefix) / "node" / "node_modules" / ".bin" / PROXY
    places = []
    if lab.proxy_command is not None:
        places.append(str(lab.proxy_command))
        if os.access(lab.proxy_command, os.X_OK):
            return lab.proxy_command
    else:
        on_path = shutil.which(PROXY)
        places.append(f"{PROXY} on PATH")
        if on_path:
            return Path(on_path)
        places.append(str(venv))
        if os.access(venv, os.X_OK):
            return venv
    raise ProxyNotFound(
        f"{PROXY} (npm) not found; looked at {', '.join(places)} (JDX_LAB_PROXY_COMMAND, "
        f"[lab] proxy_command). Install it with `npm install --prefix {Path(sys.prefix) / 'node'} "
        f"{PROXY}@5.3.0` (scripts/test.sh does)"
    )


def python(lab: LabSettings) -> Path:
    """The single-user servers' and jobs' interpreter: ``[lab] python``, else this one."""
    return lab.python if lab.python is not None else Path(sys.executable)


def server_args(lab: LabSettings) -> list[str]:
    """The single-user servers' options: project data usable but never served (terminals off,
    :class:`sandbox.jupyter.ProjectContentsManager` for contents and ``/files/``)."""
    return [
        "--ServerApp.terminals_enabled=False",
        f"--ServerApp.contents_manager_class={CONTENTS_MANAGER}",
        f"--ProjectContentsManager.download_max_bytes={int(lab.download_max_bytes)}",
    ]


def hub_token(s: Settings) -> str:
    """The hub API token: ``[lab] hub_api_token``, else the secrets file (made here, 0600)."""
    lab = s.section(LabSettings)
    if lab.hub_api_token is not None:
        return lab.hub_api_token.get_secret_value()
    path = s.secrets_dir / TOKEN_FILE
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: theirs is read below
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()


def configure(c: Any) -> None:
    """Fill JupyterHub's config object ``c`` from the settings."""
    from sandbox.authenticator import ProjectSpawner, RegistryAuthenticator

    s = settings()
    lab = s.section(LabSettings)
    assert lab.hub_dir is not None
    hub_dir = lab.hub_dir
    c.JupyterHub.bind_url = f"http://{lab.host}:{lab.port}"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{lab.hub_port}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{lab.proxy_api_port}"
    c.ConfigurableHTTPProxy.command = [str(proxy_command(lab))]
    c.ConfigurableHTTPProxy.should_start = True
    c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.authenticator_class = RegistryAuthenticator
    c.JupyterHub.spawner_class = ProjectSpawner
    c.Authenticator.allow_all = True  # RegistryAuthenticator decides who is in
    c.Authenticator.manage_groups = True
    c.Authenticator.refresh_pre_spawn = True
    c.Authenticator.auth_refresh_age = 60
    c.Spawner.cmd = [str(python(lab)), "-m", "jupyterhub.singleuser"]
    c.Spawner.args = [*(["--allow-root"] if os.geteuid() == 0 and not lab.isolate else []),
                      *server_args(lab)]  # fmt: skip
    c.Spawner.start_timeout = int(lab.start_timeout)
    c.Spawner.http_timeout = int(lab.start_timeout)
    c.JupyterHub.services = [
        {"name": SERVICE, "api_token": hub_token(s)},
        {"name": OUTPUTS_SERVICE, "url": f"http://127.0.0.1:{lab.outputs_port}"},
    ]
    c.JupyterHub.load_roles = [{"name": "jdx-lab", "scopes": SERVICE_SCOPES, "services": [SERVICE]}]
