"""Settings of the data laboratory (``[lab]``, ``JDX_LAB_*``): JupyterHub, proxy and projects."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from exchange.settings import Section, under


class LabSettings(Section):
    """The data laboratory (``jdx lab serve``; inside ``jdx serve`` when ``enabled``)."""

    section: ClassVar[str] = "lab"
    model_config = SettingsConfigDict(env_prefix="JDX_LAB_", extra="forbid")

    enabled: bool = Field(
        False,
        description="Run JupyterHub inside jdx serve too (jdx lab serve runs it on its own).",
    )
    host: str = Field(
        "127.0.0.1",
        description="Address the hub's public proxy listens on (the hub itself and the proxy's "
        "API always bind to 127.0.0.1). Put a TLS-terminating reverse proxy in front.",
    )
    port: int = Field(8500, ge=1, le=65535, description="Public port of the lab (the proxy).")
    hub_port: int = Field(8501, ge=1, le=65535, description="Port of the hub (127.0.0.1 only).")
    proxy_api_port: int = Field(
        8502, ge=1, le=65535, description="Port of the proxy's REST API (127.0.0.1 only)."
    )
    projects_dir: Path | None = Field(
        None,
        description="Where each project's directory lives (<dir>/<id>/data read-only, "
        "<dir>/<id>/work the analysts' files). Default: <home>/lab/projects.",
    )
    hub_dir: Path | None = Field(
        None,
        description="The hub's state (its SQLite database, cookie secret, config, log). "
        "Default: <home>/lab/hub.",
    )
    hub_api_token: SecretStr | None = Field(
        None,
        description="Token jdx uses for the hub's REST API (a JupyterHub service with admin "
        "rights on users and servers). Default: <home>/secrets/lab_hub_token, generated on the "
        "lab's first start.",
    )
    proxy_command: Path | None = Field(
        None,
        description="configurable-http-proxy executable (npm). Default: on PATH, else "
        "<venv>/node/node_modules/.bin/configurable-http-proxy (scripts/test.sh installs it "
        "there: npm install --prefix .venv/node configurable-http-proxy@5.3.0).",
    )
    start_timeout: float = Field(
        60.0, gt=0, le=600, description="Seconds the hub may take to start or a server to spawn."
    )
    expiry_check_seconds: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="How often the lab marks projects past their end date expired and stops "
        "their analysts' servers.",
    )
    close_after_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="Days after a project's end date when the lab closes it: destroys its "
        "extract and its analysts' work, keeps the released outputs and the request snapshots "
        "(root's alone) and removes its system users (sandbox.closing).",
    )

    isolate: bool = Field(
        True,
        description="Run each project's servers and jobs as its own system user "
        "(jdx-lab-p<id>, made with useradd; needs root). Off only for trusted single-user "
        "testing: every server then runs as the hub's user.",
    )
    python: Path | None = Field(
        None,
        description="Python of the single-user servers, kernels and jobs; it needs jdx's "
        "packages (jupyterhub, ipykernel, pandas, statsmodels, pyarrow) and must be runnable by "
        "the project users. Default: this environment's interpreter.",
    )
    outputs_port: int = Field(
        8503,
        ge=1,
        le=65535,
        description="Port (127.0.0.1) of the lab's hub service 'outputs', where analysts' "
        "notebooks request output release and submit jobs (sandbox.labkit).",
    )
    output_max_bytes: int = Field(
        20_000_000, gt=0, description="Largest file an output request may hold."
    )
    server_memory_mb: int = Field(
        4096,
        ge=256,
        le=262144,
        description="Address-space limit (RLIMIT_AS, MiB) of each notebook server process and "
        "of each kernel it starts: an allocation beyond it fails with MemoryError.",
    )
    server_cpu_seconds: int = Field(
        14400,
        gt=0,
        le=10_000_000,
        description="CPU-time limit (RLIMIT_CPU, seconds) of each notebook server process and of "
        "each kernel: a kernel that used it up is stopped (Jupyter offers to restart it). "
        "Long computations belong in model-to-data jobs.",
    )
    download_max_bytes: int = Field(
        2_000_000,
        ge=0,
        description="Largest file whose content the notebook servers serve (open or download; "
        "released/ excepted). data/ and data files (Parquet, pickle, archives …) are never "
        "served, whatever their size (sandbox.jupyter).",
    )
    job_cpu_seconds: int = Field(
        600, gt=0, le=86400, description="CPU-time limit of a model-to-data job (RLIMIT_CPU)."
    )
    job_memory_mb: int = Field(
        4096,
        ge=64,
        le=65536,
        description="Address-space limit of a model-to-data job in MiB (RLIMIT_AS).",
    )
    job_wall_seconds: int = Field(
        1800, gt=0, le=86400, description="Wall-clock limit of a model-to-data job."
    )
    job_log_bytes: int = Field(
        65536,
        ge=1024,
        le=10_000_000,
        description="How much of a job's stdout and of its stderr is kept (each); the rest is "
        "counted and dropped.",
    )

    def resolved(self, home: Path) -> Self:
        return self.model_copy(
            update={
                "projects_dir": under(home, self.projects_dir, "lab/projects"),
                "hub_dir": under(home, self.hub_dir, "lab/hub"),
            }
        )
