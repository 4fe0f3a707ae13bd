"""The data laboratory from the analyst's side, on one real JupyterHub (with configurable-http-
proxy from npm) on loopback for the whole module: login and refusals, a server spawned as the
project's own system user, kernel code (Jupyter REST + websocket) fitting a statsmodels model on
the project's data, isolation between projects and from the exchange's home, output release
requests from a notebook through the hub service with their automatic checks and a reviewer's
decision by `jdx lab output`, model-to-data jobs with limits, and expiry stopping servers.

Everything is real: `jdx init` in a subprocess, the registry, a chDB warehouse (this module's),
the hub, its proxy, single-user servers and kernels, system users made with useradd (the tests
run as root, as the lab must). The only stand-in: the interpreter of the servers is a small venv
over this virtualenv's packages when the virtualenv's own Python lives where other users cannot
run it (tests/lab_support.py says why)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lab_support import (
    PASSWORD,
    TODAY,
    apply_project,
    approve,
    base_dir,
    free_ports,
    lab_accounts_removed,  # noqa: F401  (autouse: this module's system users go at its end)
    login,
    people,
    run_in_kernel,
    seed,
)
from sqlalchemy import text

from exchange import audit
from exchange import registry as reg
from exchange.registry import db as registry_db
from exchange.registry import projects
from exchange.registry.users import set_password
from exchange.settings import Settings
from sandbox import hubconfig
from sandbox.isolation import bridge_python
from sandbox.settings import LabSettings
from warehouse import Warehouse

pytest_plugins = ["warehouse_fixtures"]
pytestmark = pytest.mark.slow


DOWNLOAD_MAX = 100_000  # [lab] download_max_bytes of this module's hub
SERVER_MB = 3072  # [lab] server_memory_mb of this module's hub


@dataclass
class Lab:
    settings: Settings
    home: Path
    env: dict[str, str]
    service: Any
    projects: dict[str, int]  # analyst -> project
    tokens: dict[str, str]
    kernels: dict[str, str]

    @property
    def url(self) -> str:
        return str(self.service.url)

    def project_dir(self, who: str) -> Path:
        root = self.settings.section(LabSettings).projects_dir
        assert root is not None
        return root / str(self.projects[who])

    def run(self, who: str, code: str, timeout: float = 120) -> str:
        ws = f"{self.url.replace('http', 'ws', 1)}/user/{who}/api/kernels/{self.kernels[who]}/channels"
        return asyncio.run(run_in_kernel(ws, self.tokens[who], code, timeout))

    def jdx(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from cli import main; main()", *args],
            env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip


def _spawn(lab: Lab, who: str) -> None:
    with lab.service.client() as api:
        started = api.post(f"/users/{who}/server")
        assert started.status_code in (201, 202), started.text[:300]
        deadline = time.monotonic() + 90
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = api.get(f"/users/{who}").json()["servers"].get("", {})
            if state.get("ready"):
                break
            time.sleep(0.5)
        assert state.get("ready"), state
        lab.tokens[who] = api.post(
            f"/users/{who}/tokens", json={"note": "test", "expires_in": 900}
        ).json()["token"]
    with httpx.Client(base_url=f"{lab.url}/user/{who}/api", timeout=30,
                      headers={"Authorization": f"token {lab.tokens[who]}"}) as srv:  # fmt: skip
        lab.kernels[who] = srv.post("/kernels", json={"name": "python3"}).json()["id"]


@pytest.fixture(scope="module")
def lab(wh: Warehouse) -> Iterator[Lab]:
    from runtime.config import load
    from sandbox.service import LabService

    base = base_dir("jdx-lab-hub-")
    home = base / "home"
    port, hub, api, outs = free_ports(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env.update({"JDX_HOME": str(home), "JDX_LAB_PORT": str(port), "JDX_LAB_HUB_PORT": str(hub),
                "JDX_LAB_PROXY_API_PORT": str(api), "JDX_LAB_OUTPUTS_PORT": str(outs),
                "JDX_LAB_START_TIMEOUT": "90", "JDX_LAB_DOWNLOAD_MAX_BYTES": str(DOWNLOAD_MAX),
                "JDX_LAB_SERVER_MEMORY_MB": str(SERVER_MB),
                "JDX_LAB_EXPIRY_CHECK_SECONDS": "3600"})  # the test runs expiry itself  # fmt: skip
    python = bridge_python(base)
    if python:
        env["JDX_LAB_PYTHON"] = python
    init = subprocess.run([sys.executable, "-c", "from cli import main; main()", "init"],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert init.returncode == 0, init.stderr
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("JDX_")]:
            mp.delenv(name)
        for name, value in env.items():
            if name.startswith("JDX_"):
                mp.setenv(name, value)
        hubconfig.settings.cache_clear()
        settings = load()
        seed(wh)
        with registry_db.session(settings.registry_url) as db:
            people(db)
            for name in ("dan", "eve"):
                reg.add_user(db, name, "analyst", "TCF01", actor="test")
                set_password(db, name, PASSWORD, actor="test")
            ids = {who: apply_project(db, who).id for who in ("ana", "bob", "cy", "dan", "eve")}
            projects.reject(db, ids["eve"], actor="rev", reason="purpose unclear")
        for who in ("ana", "bob", "cy"):
            approve(settings, wh, ids[who])
        with registry_db.session(settings.registry_url) as db:  # cy's project ended yesterday
            db.execute(text("UPDATE lab_projects SET ends_on = :d WHERE id = :i"),
                       {"d": TODAY - dt.timedelta(days=1), "i": ids["cy"]})  # fmt: skip
        service = LabService(settings, actor="test")
        service.start()
        deadline = time.monotonic() + 30  # the hub answers before the proxy has its routes
        while httpx.get(f"{service.url}/hub/login").status_code != 200:
            assert time.monotonic() < deadline, "the proxy never routed /hub/login"
            time.sleep(0.2)
        try:
            yield Lab(settings, home, env, service, ids, {}, {})
        finally:
            service.stop()
            hubconfig.settings.cache_clear()
            registry_db.dispose(settings.registry_url)
            shutil.rmtree(base, ignore_errors=True)


def test_only_analysts_of_an_active_project_log_in(lab: Lab) -> None:
    ok = login(lab.url, "ana", PASSWORD)
    assert ok.status_code == 302 and "jupyterhub-session-id" in ok.headers.get("set-cookie", "")
    for name, password in [("ana", "wrong password!!"), ("cy", PASSWORD), ("dan", PASSWORD),
                           ("eve", PASSWORD), ("rev", PASSWORD), ("nobody", PASSWORD)]:  # fmt: skip
        assert login(lab.url, name, password).status_code == 403, name  # expired, applied, rejected
    with lab.service.client() as api:
        assert api.get("/users/ana").json()["groups"] == [f"project-{lab.projects['ana']}"]
        assert api.post("/users/dan/server").status_code >= 400  # no active project


KERNEL_FIT = """
import os, pwd, runpy
from sandbox import labkit
root = labkit.project_dir()  # data/ beside work/, the kernel's working directory
result = runpy.run_path(str(root / "work" / "logit_90dpd.py"))["fit"](root / "data")
print("fitted", int(result.df_resid), result.params["institutions"] > 0)
print("as", pwd.getpwuid(os.getuid()).pw_name, os.getcwd())
leaked = [k for k in os.environ if k.startswith("JDX_")
          and k not in ("JDX_LAB_PROJECT", "JDX_LAB_OUTPUTS_URL")]
print("warehouse-free" if not leaked else f"leaked {leaked}")
"""


def test_server_runs_as_the_project_user_and_fits_a_model_on_the_data(lab: Lab) -> None:
    _spawn(lab, "ana")
    pid = lab.projects["ana"]
    headers = {"Authorization": f"token {lab.tokens['ana']}"}
    with httpx.Client(base_url=f"{lab.url}/user/ana/api", headers=headers, timeout=30) as srv:
        listing = srv.get("/contents").json()
        assert {f["name"] for f in listing["content"]} == {"work", "outputs", "released"}
    out = lab.run("ana", KERNEL_FIT)
    assert "fitted" in out and "True" in out and "warehouse-free" in out, out
    assert f"as jdx-lab-p{pid} {lab.project_dir('ana') / 'work'}" in out, out
    assert pwd.getpwnam(f"jdx-lab-p{pid}").pw_shell == "/usr/sbin/nologin"


KERNEL_COPIES = """
import json, os, shutil
from sandbox import labkit
root = labkit.project_dir()
manifest = json.loads((root / "data" / "manifest.json").read_text())
df = labkit.load()  # the kernel reads the extract: usable
shutil.copyfile(root / "data" / "accounts.parquet", root / "work" / "rows.txt")  # renamed copy
os.symlink(root / "data" / "manifest.json", root / "work" / "manifest-link.json")
df.to_csv(root / "work" / "rows.csv", index=False)  # rows as text, over the limit
df.head(5).to_csv(root / "work" / "few.csv", index=False)  # rows as text, small: served
print(json.dumps({"rows": len(df), "manifest_rows": manifest["rows"]}))
"""


def test_project_data_is_usable_in_a_kernel_but_never_served_by_jupyter(lab: Lab) -> None:
    if "ana" not in lab.kernels:
        _spawn(lab, "ana")
    read = json.loads(lab.run("ana", KERNEL_COPIES).strip().splitlines()[-1])
    assert read["rows"] == read["manifest_rows"] > 0, read
    assert (lab.project_dir("ana") / "work" / "rows.csv").stat().st_size > DOWNLOAD_MAX
    headers = {"Authorization": f"token {lab.tokens['ana']}"}
    with httpx.Client(base_url=f"{lab.url}/user/ana", headers=headers, timeout=30) as srv:
        refused = {
            "files": srv.get("/files/data/accounts.parquet"),
            "download": srv.get("/files/data/manifest.json", params={"download": "1"}),
            "contents": srv.get("/api/contents/data/manifest.json", params={"content": "1"}),
            "metadata": srv.get("/api/contents/data/accounts.parquet", params={"content": "0"}),
            "listing": srv.get("/api/contents/data"),
            "copy": srv.post("/api/contents/work", json={"copy_from": "data/sample.parquet"}),
            "rename": srv.patch(
                "/api/contents/data/sample.parquet", json={"path": "work/sample.parquet"}
            ),
            "checkpoint": srv.post("/api/contents/data/manifest.json/checkpoints"),
            "link": srv.get("/files/work/manifest-link.json"),
            "renamed copy": srv.get("/api/contents/work/rows.txt", params={"content": "1"}),
            "large csv": srv.get("/files/work/rows.csv"),
            "nbconvert": srv.get("/nbconvert/notebook/data/manifest.json"),
        }
        for what, answer in refused.items():
            assert answer.status_code == 403, (what, answer.status_code, answer.text[:300])
            assert "LAB035" in answer.text and b"PAR1" not in answer.content, what
        assert "cannot be opened, listed or downloaded" in refused["contents"].json()["message"]
        assert "by its content" in refused["renamed copy"].json()["message"]
        assert "download_max_bytes" in refused["large csv"].text
        root = srv.get("/api/contents").json()
        assert "data" not in {f["name"] for f in root["content"]}
        assert srv.get("/api/contents/work/few.csv", params={"content": "1"}).status_code == 200
        assert srv.get("/files/work/logit_90dpd.py").status_code == 200  # scripts still open
        terminal = srv.post("/api/terminals")
        assert terminal.status_code in (403, 404), terminal.status_code  # terminals are off
        assert srv.get("/api/terminals").status_code == 404
    assert (lab.project_dir("ana") / "data" / "sample.parquet").exists()  # nothing moved
    assert not (lab.project_dir("ana") / "work" / "sample.parquet").exists()


KERNEL_PLANTS = """
import json, os, pathlib, site, sys
home = pathlib.Path.home()
(home / ".jupyter").mkdir(exist_ok=True)
(home / ".jupyter" / "jupyter_server_config.py").write_text(
    'c.ProjectContentsManager.data_dir = "nothing"\\n'
    'c.ProjectContentsManager.released_dir = "data"\\n'
    'c.ServerApp.extra_static_paths = ["%s"]\\n' % (home.parent / "data")
)
user_site = pathlib.Path(site.getusersitepackages())
user_site.mkdir(parents=True, exist_ok=True)
(user_site / "planted.pth").write_text("import os; os.environ['JDX_PLANTED'] = '1'\\n")
(home / "jupyterhub").mkdir(exist_ok=True)
(home / "jupyterhub" / "__init__.py").write_text("raise SystemExit('planted jupyterhub')\\n")
print(json.dumps({k: os.environ.get(k) for k in ("JUPYTER_CONFIG_DIR", "PYTHONNOUSERSITE",
                                                 "PYTHONSAFEPATH")}))
"""


def test_files_the_project_user_writes_do_not_reconfigure_its_server(lab: Lab) -> None:
    """The server is started from nothing the project user can write: a Jupyter config in its
    HOME (work/) that would serve data/ as if released, a .pth in its user site-packages and a
    package that would shadow jupyterhub from the working folder are all ignored at restart."""
    if "ana" not in lab.kernels:
        _spawn(lab, "ana")
    env = json.loads(lab.run("ana", KERNEL_PLANTS).strip().splitlines()[-1])
    assert env["JUPYTER_CONFIG_DIR"] == str(lab.project_dir("ana") / "config"), env
    assert env["PYTHONNOUSERSITE"] == env["PYTHONSAFEPATH"] == "1", env
    with lab.service.client() as api:  # restart ana's server: the planted files are now read
        assert api.delete("/users/ana/server").status_code in (202, 204)
        deadline = time.monotonic() + 60
        while api.get("/users/ana").json()["servers"] and time.monotonic() < deadline:
            time.sleep(0.5)
    _spawn(lab, "ana")  # it starts (no planted jupyterhub ran) ...
    headers = {"Authorization": f"token {lab.tokens['ana']}"}
    with httpx.Client(base_url=f"{lab.url}/user/ana", headers=headers, timeout=30) as srv:
        files = srv.get("/files/data/accounts.parquet")  # ... and still refuses data/
        assert files.status_code == 403 and "LAB035" in files.text, files.status_code
        assert srv.get("/static/accounts.parquet").status_code == 404
    assert lab.run("ana", "import os; print(os.environ.get('JDX_PLANTED'))").strip() == "None"
    assert (lab.project_dir("ana") / "config").stat().st_uid == 0


KERNEL_PROBE = """
import json, os, pathlib
found = {}
for label, path, how in PROBES:
    p = pathlib.Path(path)
    try:
        if how == "list":
            os.listdir(p)
        elif how == "write":
            p.write_text("x")
        else:
            p.read_bytes()
        found[label] = "allowed"
    except PermissionError:
        found[label] = "denied"
    except OSError as e:
        found[label] = type(e).__name__
print(json.dumps(found))
"""


def test_a_project_reads_neither_other_projects_nor_the_exchange(lab: Lab) -> None:
    if "ana" not in lab.kernels:
        _spawn(lab, "ana")
    other = lab.project_dir("bob")
    (other / "outputs" / "theirs.csv").write_text("n\n12\n")
    secrets = lab.settings.secrets_dir
    probes = [
        ("own data", lab.project_dir("ana") / "data" / "accounts.parquet", "read"),
        ("own outputs", lab.project_dir("ana") / "outputs" / "mine.txt", "write"),
        ("write own data", lab.project_dir("ana") / "data" / "new.parquet", "write"),
        ("other project", other, "list"),
        ("other data", other / "data" / "accounts.parquet", "read"),
        ("other outputs", other / "outputs" / "theirs.csv", "read"),
        ("projects list", other.parent, "list"),
        ("home list", lab.home, "list"),
        ("registry", lab.home / "registry.sqlite3", "read"),
        ("pepper", secrets / "pepper", "read"),
        ("secrets", secrets, "list"),
        ("warehouse", lab.home / "warehouse", "list"),
        ("hub", lab.settings.section(LabSettings).hub_dir, "list"),
        ("hub token", secrets / "lab_hub_token", "read"),
    ]
    assert (lab.home / "registry.sqlite3").exists() and (lab.home / "warehouse").is_dir()
    code = f"PROBES = {[(a, str(b), c) for a, b, c in probes]!r}\n" + KERNEL_PROBE
    found = json.loads(lab.run("ana", code).strip().splitlines()[-1])
    assert found.pop("own data") == "allowed" and found.pop("own outputs") == "allowed", found
    assert set(found.values()) == {"denied"}, found


KERNEL_OUTPUTS = """
import json, pandas as pd, statsmodels.formula.api as smf
from sandbox import labkit
df = labkit.load()
last = df[df["month"] == df["month"].max()]
labkit.table(last, ["institution_type"], value="balance", name="balance_by_type")
pd.DataFrame({"product": ["CASH", "BNPL"], "n": [3, 57]}).to_csv(
    labkit.outputs_dir() / "small_cells.csv", index=False)
last.head(50).to_csv(labkit.outputs_dir() / "rows.csv", index=False)
sample = df.groupby("borrower").agg(bad=("dpd", lambda d: int(d.max() >= 90)),
                                    lenders=("institution", "nunique"))
labkit.save_model(smf.logit("bad ~ lenders", data=sample).fit(disp=0), "logit")
answers = [labkit.request_release(files, note="q1")
           for files in (["balance_by_type.csv", "logit.txt"], ["small_cells.csv"], ["rows.csv"])]
print(json.dumps(answers))
"""


def test_outputs_are_checked_reviewed_released_and_audited(lab: Lab) -> None:
    if "ana" not in lab.kernels:
        _spawn(lab, "ana")
    out = lab.run("ana", KERNEL_OUTPUTS)
    passed, small, rows = json.loads(out.strip().splitlines()[-1])
    assert passed["status"] == "review", passed
    assert [f["outcome"] for f in passed["files"]] == ["pass", "pass"]
    assert small["status"] == "blocked"
    (reason,) = small["files"][0]["reasons"]
    assert reason["code"] == "LAB023" and "smallest 3" in reason["message"], reason
    assert rows["status"] == "blocked"
    assert {"LAB021", "LAB022"} <= {r["code"] for r in rows["files"][0]["reasons"]}
    # the service acts only for a token the hub knows, of an analyst of that active project
    service = f"http://127.0.0.1:{lab.settings.section(LabSettings).outputs_port}"
    for token, project in (
        ("forged", lab.projects["ana"]),
        (lab.tokens["ana"], lab.projects["bob"]),
    ):
        refused = httpx.post(f"{service}/release", headers={"Authorization": f"token {token}"},
                             json={"project": project, "files": ["balance_by_type.csv"]})  # fmt: skip
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "LAB034"
    # the reviewer: a blocked request cannot be released; one in review can, with a reason
    refused = lab.jdx("lab", "output", "release", str(small["id"]), "--reason", "ok",
                      "--actor", "rev")  # fmt: skip
    assert refused.returncode != 0 and "REG085" in refused.stderr, refused.stderr
    done = lab.jdx("lab", "output", "release", str(passed["id"]), "--reason",
                   "aggregates of >= 10 borrowers; model dof fine", "--actor", "rev")  # fmt: skip
    assert done.returncode == 0 and "released" in done.stdout, done.stderr
    again = lab.jdx("lab", "output", "reject", str(passed["id"]), "--reason", "x", "--actor", "rev")
    assert again.returncode != 0 and "REG085" in again.stderr
    # the analyst downloads the released copy from their server; its digest is the recorded one
    headers = {"Authorization": f"token {lab.tokens['ana']}"}
    with httpx.Client(base_url=f"{lab.url}/user/ana", headers=headers, timeout=30) as srv:
        got = srv.get(f"/files/released/{passed['id']}/balance_by_type.csv")
        assert got.status_code == 200, got.status_code
    recorded = {f["name"]: f["sha256"] for f in passed["files"]}
    assert hashlib.sha256(got.content).hexdigest() == recorded["balance_by_type.csv"]
    assert not (
        lab.project_dir("ana") / "released" / str(passed["id"]) / "logit.txt.evidence.json"
    ).exists()
    # a second request in review is rejected with the reason
    again_ok = lab.jdx("lab", "output", "request", str(lab.projects["ana"]), "balance_by_type.csv",
                       "--analyst", "ana", "--json")  # fmt: skip
    second = json.loads(again_ok.stdout)
    rejected = lab.jdx("lab", "output", "reject", str(second["id"]), "--reason",
                       "same table as request 1", "--actor", "rev")  # fmt: skip
    assert rejected.returncode == 0, rejected.stderr
    listed = json.loads(lab.jdx("lab", "output", "list", "--json").stdout)
    assert [r["status"] for r in listed] == ["released", "blocked", "blocked", "rejected"]
    with registry_db.session(lab.settings.registry_url, readonly=True) as db:
        acts = [(e.action, e.actor, e.object, e.details) for e in audit.entries(db)
                if e.action.startswith("lab.output")]  # fmt: skip
    assert [(a, who) for a, who, _, _ in acts] == [
        ("lab.output_request", "ana"), ("lab.output_request", "ana"),
        ("lab.output_request", "ana"), ("lab.output_release", "rev"),
        ("lab.output_request", "ana"), ("lab.output_reject", "rev"),
    ]  # fmt: skip
    assert acts[3][3]["files"] == recorded and acts[5][3]["reason"] == "same table as request 1"


JOB = """
from sandbox import labkit
df = labkit.load()
print("rows", len(df))
labkit.table(df, ["institution_type"], name="by_type_all_months")
"""
HOG = "blob = bytearray(64 * 1024 ** 3)\n"
SPIN = "while True:\n    pass\n"
NOISY = "import sys, time\nsys.stdout.write('x' * 200_000)\nsys.stdout.flush()\ntime.sleep(60)\n"


def test_jobs_run_on_the_full_extract_with_limits_and_only_checked_outputs_return(
    lab: Lab,
) -> None:
    if "ana" not in lab.kernels:
        _spawn(lab, "ana")
    work = lab.project_dir("ana") / "work"
    for name, code in (
        ("by_type.py", JOB),
        ("hog.py", HOG),
        ("spin.py", SPIN),
        ("noisy.py", NOISY),
    ):
        (work / name).write_text(code)
    code = textwrap.dedent("""
        import json, os
        from sandbox import labkit
        done = labkit.submit_job("by_type.py")
        hog = labkit.submit_job("hog.py")
        missing = labkit.submit_job("missing.py", wait=False)
        try:
            os.listdir(labkit.project_dir() / "jobs" / str(done["job"]["id"]))
            peek = "allowed"
        except PermissionError:
            peek = "denied"
        print(json.dumps([done, hog, peek, missing]))
    """)
    done, hog, peek, missing = json.loads(
        lab.run("ana", code, timeout=300).strip().splitlines()[-1]
    )
    assert missing["status_code"] == 400 and missing["error"]["code"] == "LAB027", missing
    assert done["job"]["status"] == "done" and done["error"] is None, done
    assert done["request"]["status"] == "review" and done["request"]["job"] == done["job"]["id"]
    assert [f["name"] for f in done["request"]["files"]] == ["by_type_all_months.csv"]
    assert peek == "denied"  # the job's own folder is out of the notebooks' reach
    assert hog["job"]["status"] == "over_limit" and hog["error"]["code"] == "LAB031", hog
    assert hog["request"] is None
    spin = lab.jdx("lab", "job", "run", str(lab.projects["ana"]), "spin.py", "--analyst", "ana",
                   "--cpu-seconds", "2")  # fmt: skip
    assert spin.returncode != 0 and "LAB030" in spin.stderr, (spin.stdout, spin.stderr)
    noisy = lab.jdx("lab", "job", "run", str(lab.projects["ana"]), "noisy.py", "--analyst", "ana",
                    "--wall-seconds", "3")  # fmt: skip
    assert noisy.returncode != 0 and "LAB032" in noisy.stderr, (noisy.stdout, noisy.stderr)
    log = lab.jdx("lab", "job", "log", str(done["job"]["id"]))
    assert "rows " in log.stdout  # staff read the log; the analyst never gets it
    listed = json.loads(lab.jdx("lab", "job", "list", "--json").stdout)
    assert [(j["status"], j["error_code"]) for j in listed] == [
        ("done", None), ("over_limit", "LAB031"), ("over_limit", "LAB030"),
        ("over_limit", "LAB032")]  # fmt: skip
    kept = lab.jdx("lab", "job", "log", str(listed[3]["id"])).stdout
    assert "x" * 65536 in kept and "x" * 65537 not in kept and "more bytes dropped" in kept
    assert listed[2]["cpu_seconds"] >= 1.5


KERNEL_HOG = """
import json, os, resource
limits = {"as": resource.getrlimit(resource.RLIMIT_AS), "cpu": resource.getrlimit(resource.RLIMIT_CPU)}
try:
    blob = bytearray(2 * SERVER_MB * 1024 * 1024)
    outcome = "allocated"
except MemoryError:
    outcome = "MemoryError"
print(json.dumps({"limits": limits, "outcome": outcome, "pid": os.getpid()}))
"""


def test_a_kernel_over_its_memory_limit_fails_and_the_rest_carries_on(lab: Lab) -> None:
    if "ana" not in lab.kernels:
        _spawn(lab, "ana")
    assert login(lab.url, "bob", PASSWORD).status_code == 302
    _spawn(lab, "bob")  # another project's server, running beside
    found = json.loads(lab.run("ana", f"SERVER_MB = {SERVER_MB}\n" + KERNEL_HOG).splitlines()[-1])
    assert found["outcome"] == "MemoryError", found
    cpu = lab.settings.section(LabSettings).server_cpu_seconds
    assert found["limits"] == {"as": [SERVER_MB * 2**20] * 2, "cpu": [cpu, cpu + 5]}, found
    assert lab.run("ana", "print(6 * 7)").strip() == "42"  # the same kernel carries on
    assert lab.run("bob", "import os; print(os.getcwd())").strip().endswith("/work")
    with lab.service.client() as api:
        assert api.get("/").status_code == 200
        servers = {who: api.get(f"/users/{who}").json()["servers"][""]["ready"]
                   for who in ("ana", "bob")}  # fmt: skip
    assert servers == {"ana": True, "bob": True}


def test_expiry_stops_servers_and_ends_logins(lab: Lab) -> None:
    if "ana" not in lab.kernels:
        _spawn(lab, "ana")
    pid = lab.projects["ana"]
    with registry_db.session(lab.settings.registry_url) as db:
        db.execute(text("UPDATE lab_projects SET ends_on = :d WHERE id = :i"),
                   {"d": TODAY - dt.timedelta(days=1), "i": pid})  # fmt: skip
    assert sorted(lab.service.expire()) == sorted([pid, lab.projects["cy"]])
    with lab.service.client() as api:
        deadline = time.monotonic() + 30
        while api.get("/users/ana").json()["servers"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert api.get("/users/ana").json()["servers"] == {}
        assert api.post("/users/ana/server").status_code >= 400  # and no new one
    assert login(lab.url, "ana", PASSWORD).status_code == 403
    with registry_db.session(lab.settings.registry_url, readonly=True) as db:
        acts = [(e.action, e.actor) for e in audit.entries(db)
                if e.action in ("lab.login", "lab.server_start")]  # fmt: skip
    assert ("lab.login", "ana") in acts and ("lab.server_start", "ana") in acts
    log = (lab.settings.section(LabSettings).hub_dir / "jupyterhub.log").read_text()  # type: ignore[operator]
    assert hubconfig.hub_token(lab.settings) not in log and PASSWORD not in log
