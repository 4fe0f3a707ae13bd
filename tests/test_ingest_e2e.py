"""End to end: ``jdx serve`` as its own process, members uploading with the OpenSSH ``sftp``
client on loopback, receipts fetched back from the outbox over SFTP.

The server is a subprocess (it owns its embedded warehouse, as in production) started on port 0;
its start-up lines say where it listens. It is stopped with SIGTERM, by its PID, and must exit
cleanly and release the warehouse for ``jdx ingest process`` and ``jdx dq show``.
"""

from __future__ import annotations

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

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from loanfiles import PEPPER, RIC, control_for, csv_bytes, record
from test_sftp import openssh_batch

SFTP = shutil.which("sftp")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SFTP is None, reason="OpenSSH sftp client not installed"),
]
REPO = Path(__file__).resolve().parent.parent
JDX = [sys.executable, "-c", "from cli import main; main()"]
MEMBER = "ACME"


@dataclass
class Served:
    home: Path
    proc: subprocess.Popen[str]
    port: int
    key: Path
    output: list[str]

    def env(self) -> dict[str, str]:
        return environment(self.home)

    def sftp(self, *commands: str) -> subprocess.CompletedProcess[str]:
        """``sftp -b`` as the member (stops at the first failing command)."""
        return openssh_batch(
            self.home / "batch",
            commands,
            key=self.key,
            port=self.port,
            member=MEMBER,
            known_hosts=self.home / "known_hosts",
        )

    def fetch_receipt(self, base: str, local: Path, timeout: float = 60.0) -> dict[str, object]:
        """Poll the outbox over SFTP until the receipt is there; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.sftp(f"get outbox/{base}.receipt.json {local}")
            if done.returncode == 0:
                return dict(json.loads(local.read_text()))
            time.sleep(0.3)
        pytest.fail(f"no receipt for {base} within {timeout} s; server said: {self.output}")


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JDX_")}
    env.update(
        JDX_HOME=str(home),
        JDX_PEPPER=PEPPER.hex(),
        JDX_SFTP_PORT="0",
        JDX_API_PORT="0",  # jdx serve also runs the API: any free port, never a fixed one
        JDX_INGEST_POLL_INTERVAL="0.5",
        PYTHONPATH=str(REPO),
    )
    return env


def jdx(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JDX, *args], env=environment(home), capture_output=True, text=True, timeout=120
    )


def make_key(directory: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private = directory / "member_key"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    private.chmod(0o600)
    public = directory / "member_key.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        + b" acme@test\n"
    )
    return private, public


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    home = tmp_path / "home"
    assert jdx(home, "init").returncode == 0
    assert (
        jdx(home, "member", "add", MEMBER, "--name", "Acme", "--type", "MICROLOAN").returncode == 0
    )
    private, public = make_key(tmp_path)
    assert jdx(home, "key", "add-ssh", MEMBER, str(public)).returncode == 0
    proc = subprocess.Popen(
        [*JDX, "serve"],
        env=environment(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    output: list[str] = []
    port = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line.rstrip())
        found = re.match(r"sftp: 127\.0\.0\.1:(\d+), host key SHA256:", line)
        if found:
            port = int(found.group(1))
        if line.startswith("serving"):
            break
    assert port, output
    served = Served(home, proc, port, private, output)
    try:
        yield served
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # only when a test failed before stopping it
            proc.wait(timeout=30)


def test_upload_over_openssh_gives_receipts_and_sigterm_stops_cleanly(
    served: Served, tmp_path: Path
) -> None:
    out = served.output
    assert out[0] == f"jdx serve: data directory {served.home}"
    assert out[1].startswith("warehouse: embedded chDB at ") and "owned by this process" in out[1]
    assert any(line.startswith("loader: 2 thread(s)") for line in out), out

    # upload then rename, as `jdx submit` does: data file first, control file last
    good = tmp_path / "ACME_20250131_001.loans.csv"
    good.write_bytes(csv_bytes([record(account_id=f"L-{i}") for i in range(3)]))
    ctl = tmp_path / "ACME_20250131_001.ctl"
    ctl.write_bytes(control_for(good.name, good.read_bytes(), 3))
    done = served.sftp(
        f"put {good} inbox/{good.name}.tmp",
        f"rename inbox/{good.name}.tmp inbox/{good.name}",
        f"put {ctl} inbox/{ctl.name}.tmp",
        f"rename inbox/{ctl.name}.tmp inbox/{ctl.name}",
    )
    assert done.returncode == 0, done.stderr
    receipt = served.fetch_receipt("ACME_20250131_001", tmp_path / "r1.json")
    assert receipt["status"] == "accepted" and receipt["accepted"] == 3

    # a plain put (closed, not renamed) of a file with a bad record
    bad = tmp_path / "ACME_20250131_002.loans.csv"
    bad.write_bytes(
        csv_bytes([record(account_id="L-7"), record(account_id="L-8", id_number=RIC[:-1] + "0")])
    )
    ctl2 = tmp_path / "ACME_20250131_002.ctl"
    ctl2.write_bytes(control_for(bad.name, bad.read_bytes(), 2))
    done = served.sftp(f"put {bad} inbox/{bad.name}", f"put {ctl2} inbox/{ctl2.name}")
    assert done.returncode == 0, done.stderr
    receipt = served.fetch_receipt("ACME_20250131_002", tmp_path / "r2.json")
    assert receipt["status"] == "partially_accepted" and receipt["error_counts"] == {"V213": 1}
    errors = tmp_path / "errors.csv"
    assert served.sftp(f"get outbox/ACME_20250131_002.errors.csv {errors}").returncode == 0
    text = errors.read_text()
    assert ",V213,error," in text.replace('"', "") and RIC[:-1] not in text  # masked
    assert "ACME_2025" not in served.sftp("ls -1 inbox").stdout  # claimed and archived

    os.kill(served.proc.pid, signal.SIGTERM)
    assert served.proc.wait(timeout=30) == 0
    assert served.proc.stdout is not None
    assert "stopped" in served.proc.stdout.read()

    # the warehouse is free again: the one-shot loader and the DQ report can open it
    again = jdx(served.home, "ingest", "process", "--once")
    assert again.returncode == 0 and "0 file(s) processed" in again.stdout, again.stderr
    dq = jdx(served.home, "dq", "show", MEMBER, "--days", "3660")
    assert dq.returncode == 0 and "2025-01-31      2         5" in dq.stdout, dq.stdout
