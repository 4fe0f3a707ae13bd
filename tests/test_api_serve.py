"""``jdx serve`` runs the lookup API too, and answers batch files uploaded over SFTP.

``jdx serve`` is a real subprocess (it owns its embedded warehouse, as in production) with the
SFTP server and the API on free ports of 127.0.0.1; its start-up lines say where. The test calls
the API over HTTP, uploads batch files with the OpenSSH ``sftp -b`` client, reads the answers
from the outbox over SFTP, and stops the server with SIGTERM by its PID.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from loanfiles import PEPPER, RIC, RIC_2
from test_sftp import openssh_batch

SFTP = shutil.which("sftp")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SFTP is None, reason="OpenSSH sftp client not installed"),
]
REPO = Path(__file__).resolve().parent.parent
JDX = [sys.executable, "-c", "from cli import main; main()"]
MEMBER = "ACME"
BAD_RIC = RIC[:-1] + ("0" if RIC[-1] != "0" else "1")


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env.update(
        JDX_HOME=str(home),
        JDX_PEPPER=PEPPER.hex(),
        JDX_SFTP_PORT="0",
        JDX_API_PORT="0",
        JDX_INGEST_POLL_INTERVAL="0.5",
        JDX_API_INQUIRY_FLUSH_SECONDS="0.1",
        PYTHONPATH=str(REPO),
    )
    return env


def jdx(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JDX, *args], env=environment(home), capture_output=True, text=True, timeout=120
    )


@dataclass
class Served:
    home: Path
    proc: subprocess.Popen[str]
    sftp_port: int
    api_url: str
    key: Path
    token: str
    output: list[str]

    def sftp(self, *commands: str) -> subprocess.CompletedProcess[str]:
        """``sftp -b`` as the member (stops at the first failing command)."""
        return openssh_batch(
            self.home / "sftp-batch",
            commands,
            key=self.key,
            port=self.sftp_port,
            member=MEMBER,
            known_hosts=self.home / "known_hosts",
        )

    def fetch(self, name: str, local: Path, timeout: float = 60.0) -> bytes:
        """Poll the outbox over SFTP until ``name`` is there; return its bytes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sftp(f"get outbox/{name} {local}").returncode == 0:
                return local.read_bytes()
            time.sleep(0.3)
        pytest.fail(f"no {name} in the outbox within {timeout} s; server said: {self.output}")

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )


def make_key(directory: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private = directory / "member_key"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                          serialization.NoEncryption())
    )  # fmt: skip
    private.chmod(0o600)
    public = directory / "member_key.pub"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                      serialization.PublicFormat.OpenSSH) + b" acme@test\n"
    )  # fmt: skip
    return private, public


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    home = tmp_path / "home"
    assert jdx(home, "init").returncode == 0
    added = jdx(home, "member", "add", MEMBER, "--name", "Acme", "--type", "MICROLOAN")
    assert added.returncode == 0, added.stderr
    private, public = make_key(tmp_path)
    assert jdx(home, "key", "add-ssh", MEMBER, str(public)).returncode == 0
    issued = jdx(home, "key", "issue-api", MEMBER, "--product", "multi_loan", "--product",
                 "batch", "--product", "usage")  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    proc = subprocess.Popen(
        [*JDX, "serve"], env=environment(home), stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    output: list[str] = []
    sftp_port, api_url = 0, ""
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line.rstrip())
        if found := re.match(r"sftp: 127\.0\.0\.1:(\d+), host key SHA256:", line):
            sftp_port = int(found.group(1))
        if found := re.match(r"api: (http://127\.0\.0\.1:\d+) \(OpenAPI docs ", line):
            api_url = found.group(1)
        if line.startswith("serving"):
            break
    assert sftp_port and api_url, output
    served = Served(home, proc, sftp_port, api_url, private, token, output)
    try:
        yield served
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # only when a test failed before stopping it
            proc.wait(timeout=30)


def batch_csv(rows: list[tuple[str, str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["id_type", "id_number", "consent_ref"])
    writer.writerows(rows)
    return buf.getvalue().encode()


def control(name: str, data: bytes, **fields: object) -> bytes:
    doc = {"file": name, "purpose": "LOAN_APPROVAL", "sha256": hashlib.sha256(data).hexdigest()}
    doc.update(fields)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def upload(served: Served, tmp_path: Path, base: str, data: bytes, ctl: bytes) -> None:
    """Data file first, control file last (each uploaded under .tmp and renamed)."""
    for name, content in ((f"{base}.batch.csv", data), (f"{base}.ctl", ctl)):
        (tmp_path / name).write_bytes(content)
    done = served.sftp(
        f"put {tmp_path / base}.batch.csv inbox/{base}.batch.csv.tmp",
        f"rename inbox/{base}.batch.csv.tmp inbox/{base}.batch.csv",
        f"put {tmp_path / base}.ctl inbox/{base}.ctl.tmp",
        f"rename inbox/{base}.ctl.tmp inbox/{base}.ctl",
    )
    assert done.returncode == 0, done.stderr


def test_serve_runs_the_api_and_answers_sftp_batch_files(served: Served, tmp_path: Path) -> None:
    out = served.output
    assert any(line.startswith("loader: ") for line in out), out
    assert any(line.startswith("batch files: <base>.batch.csv + <base>.ctl") for line in out), out

    # the API over HTTP, on the warehouse jdx serve owns (nothing uploaded: no accounts)
    with httpx.Client(base_url=served.api_url, timeout=30) as anon:
        assert anon.get("/health").json() == {"status": "ok"}
        assert "/v1/multi-loan" in anon.get("/openapi.json").json()["paths"]
        refused = anon.post("/v1/multi-loan", json={})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "AUTH_REQUIRED"
    lookup = {"id_type": "RIC", "id_number": RIC, "consent_ref": "C-1", "purpose": "LOAN_APPROVAL"}
    with served.client() as c:
        first = c.post("/v1/multi-loan", json=lookup)
        assert first.status_code == 200, first.text
        assert first.json()["accounts"]["open_accounts"] == 0

    # a batch file: two good rows, one failing its checksum, one without consent
    base = "ACME_20260101_001"
    data = batch_csv([("RIC", RIC, "C-10"), ("RIC", RIC_2, "C-11"), ("RIC", BAD_RIC, "C-12"),
                      ("RIC", RIC_2, "")])  # fmt: skip
    upload(served, tmp_path, base, data, control(f"{base}.batch.csv", data, records=4))
    receipt = json.loads(served.fetch(f"{base}.receipt.json", tmp_path / "r1.json"))
    assert receipt["kind"] == "batch" and receipt["status"] == "done", receipt
    assert (receipt["borrowers"], receipt["invalid"], receipt["looked_up"]) == (4, 2, 2)
    assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
    assert receipt["result_file"] == f"{base}.result.csv" and receipt["error"] is None
    result = served.fetch(f"{base}.result.csv", tmp_path / "result.csv").decode()
    rows = list(csv.DictReader(io.StringIO(result)))
    assert [(r["line"], r["status"], r["error_code"], r["error_field"]) for r in rows] == [
        ("1", "ok", "", ""), ("2", "ok", "", ""), ("3", "error", "ID_CHECKSUM", "id_number"),
        ("4", "error", "CONSENT_REQUIRED", "consent_ref"),
    ]  # fmt: skip
    assert rows[0]["open_accounts"] == "0" and RIC not in result and RIC[:-1] not in result
    listing = served.sftp("ls -1 inbox").stdout
    assert base not in listing  # taken by the batch stage, identities not kept

    # logged as inquiries at once (they count in the next multi-loan answer) and billed
    with served.client() as c:
        again = c.post("/v1/multi-loan", json=lookup).json()
        assert again["inquiries"]["windows"]["7d"]["count"] == 2  # the first lookup + the batch
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            usage = c.get("/v1/usage", params={"from": "2026-01-01"}).json()
            units: dict[str, int] = {}
            for d in usage["days"]:  # summed: the China-time day may turn during the test
                units[d["product"]] = units.get(d["product"], 0) + d["units"]
            if units == {"BATCH": 2, "MULTI_LOAN": 2}:
                break
            time.sleep(0.3)
        assert units == {"BATCH": 2, "MULTI_LOAN": 2}, usage
        job = c.get(f"/v1/batch/{receipt['job_id']}").json()["job"]
        assert job["source"] == "sftp" and job["status"] == "done"

    # refused as a whole: no purpose in the control file → a coded receipt, nothing run
    base2 = "ACME_20260101_002"
    data2 = batch_csv([("RIC", RIC, "C-20")])
    upload(served, tmp_path, base2, data2, control(f"{base2}.batch.csv", data2, purpose=None))
    receipt2 = json.loads(served.fetch(f"{base2}.receipt.json", tmp_path / "r2.json"))
    assert receipt2["status"] == "rejected" and receipt2["kind"] == "batch", receipt2
    assert (receipt2["error"]["code"], receipt2["error"]["field"]) == ("PURPOSE_INVALID", "purpose")
    # a control file that does not name its data file is still the batch stage's (the loader
    # leaves a base with a batch file alone), refused with the field to fix
    base3 = "ACME_20260101_003"
    upload(served, tmp_path, base3, data2, json.dumps({"purpose": "LOAN_APPROVAL"}).encode())
    receipt3 = json.loads(served.fetch(f"{base3}.receipt.json", tmp_path / "r3.json"))
    assert (receipt3["kind"], receipt3["error"]["code"], receipt3["error"]["field"]) == (
        "batch", "BATCH_CONTROL_INVALID", "file")  # fmt: skip
    assert "ACME_2026" not in served.sftp("ls -1 inbox").stdout

    os.kill(served.proc.pid, signal.SIGTERM)
    assert served.proc.wait(timeout=60) == 0
    assert served.proc.stdout is not None
    assert "stopped" in served.proc.stdout.read()
    # the loader never saw the batch files: no loans submission was recorded
    ledger = jdx(served.home, "dq", "show", MEMBER, "--days", "3660")
    assert ledger.returncode == 0 and "no files loaded" in ledger.stdout, ledger.stdout
