"""Helpers for analysts inside a lab project (a notebook or a model-to-data job).

Import it in a kernel: ``from sandbox import labkit``. It needs no jdx settings and holds no
secret: a release request or a job goes to the lab's ``outputs`` hub service with the server's
own JupyterHub token (``JUPYTERHUB_API_TOKEN``), which the service checks with the hub.

- :func:`load` reads the project's extract: the 1 % sample (``sample=True``; every month of one
  borrower in a hundred) to try code in the notebook, or everything.
- :func:`table` aggregates into a table with its cell counts (``n``, distinct borrowers by
  default) and writes the evidence the output checks need (``<name>.csv.evidence.json``: the
  counts and, for a magnitude, each cell's two largest contributions and its total).
- :func:`save_model` writes a fitted statsmodels model's summary with its residual degrees of
  freedom.
- :func:`request_release` asks for files of ``outputs/`` to be released; :func:`submit_job`
  runs a script of ``work/`` on the full extract; :func:`job` tells how a job went.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd

EVIDENCE_SUFFIX = ".evidence.json"


def project_dir() -> Path:
    """The project directory: the job's data folder's parent, else above the working dir."""
    data = os.environ.get("JDX_LAB_DATA")
    if data:
        return Path(data).parent
    here = Path.cwd()
    return next((p for p in (here, *here.parents) if (p / "data").is_dir()), here)


def outputs_dir() -> Path:
    """Where outputs go: the job's outputs folder in a job, ``outputs/`` in a notebook."""
    return Path(os.environ.get("JDX_LAB_OUTPUTS") or project_dir() / "outputs")


def load(sample: bool = False) -> pd.DataFrame:
    """The project's extract (``accounts.parquet``), or its 1 % sample."""
    data = Path(os.environ.get("JDX_LAB_DATA") or project_dir() / "data")
    return pd.read_parquet(data / ("sample.parquet" if sample else "accounts.parquet"))


def _contributions(frame: pd.DataFrame, by: list[str], unit: str, value: str) -> list[list[float]]:
    per_unit = frame.groupby([*by, unit], observed=True)[value].sum().abs()
    cells = []
    for _, group in per_unit.groupby(level=list(range(len(by))), observed=True, sort=True):
        top = [*group.nlargest(2).tolist(), 0.0, 0.0]
        cells.append([float(top[0]), float(top[1]), float(group.sum())])
    return cells


def table(
    frame: pd.DataFrame,
    by: list[str],
    *,
    value: str | None = None,
    agg: str = "sum",
    unit: str = "borrower",
    name: str | None = None,
) -> pd.DataFrame:
    """One row per group of ``by``: ``n`` (distinct ``unit`` values) and, with ``value``, its
    ``agg`` (sum or mean). With ``name``, writes ``outputs/<name>.csv`` and its evidence."""
    if agg not in ("sum", "mean"):
        raise ValueError(f"agg {agg!r}: use sum or mean")
    grouped = frame.groupby(by, observed=True, sort=True)
    out = grouped[unit].nunique().rename("n").to_frame()
    evidence: dict[str, Any] = {"by": by, "unit": unit, "count_column": "n"}
    if value is not None:
        column = f"{value}_{agg}"
        out[column] = getattr(grouped[value], agg)()
        evidence["dominance"] = {column: _contributions(frame, by, unit, value)}
    out = out.reset_index()
    evidence["counts"] = [int(x) for x in out["n"]]
    if name is not None:
        target = outputs_dir() / f"{name}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(target, index=False)
        target.with_name(target.name + EVIDENCE_SUFFIX).write_text(json.dumps(evidence))
    return out


def save_model(result: Any, name: str) -> Path:
    """``outputs/<name>.txt``: the summary of a fitted statsmodels model, with its evidence."""
    target = outputs_dir() / f"{name}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(str(result.summary()))
    evidence = {
        "kind": "model",
        "model": type(result.model).__name__,
        "df_resid": float(result.df_resid),
        "nobs": float(result.nobs),
    }
    target.with_name(target.name + EVIDENCE_SUFFIX).write_text(json.dumps(evidence))
    return target


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    base = os.environ.get("JDX_LAB_OUTPUTS_URL")
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if not base or not token:
        raise RuntimeError("not in a lab server: JDX_LAB_OUTPUTS_URL or JUPYTERHUB_API_TOKEN unset")
    request = urllib.request.Request(
        base.rstrip("/") + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as e:
        answer = json.loads(e.read() or b"{}")
        answer.setdefault("status_code", e.code)
    return answer


def _project() -> int:
    return int(os.environ["JDX_LAB_PROJECT"])


def request_release(files: list[str], note: str = "") -> dict[str, Any]:
    """Ask for ``files`` of ``outputs/`` to be released: the checks' outcome per file, and the
    request's status (``review`` when all passed, else ``blocked`` with the reasons)."""
    return _call("POST", "/release", {"project": _project(), "files": files, "note": note})


def submit_job(script: str, wait: bool = True) -> dict[str, Any]:
    """Run ``work/<script>`` on the full extract as a job; its outputs come back as a release
    request through the same checks. With ``wait``, returns when the job has finished."""
    return _call("POST", "/jobs", {"project": _project(), "script": script, "wait": wait})


def job(job_id: int) -> dict[str, Any]:
    return _call("GET", f"/jobs/{int(job_id)}")
