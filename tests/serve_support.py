"""``jdx serve`` as a subprocess with members, their SSH and API keys: the tests' view of a
running exchange over the real SFTP path (OpenSSH ``sftp``) and HTTP. Stopped by SIGTERM to its
own PID (SIGKILL only if it does not stop)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from loanfiles import control_for
from test_ingest_e2e import JDX, environment, make_key
from test_sftp import openssh_batch


@dataclass
class Exchange:
    home: Path
    proc: subprocess.Popen[str]
    sftp_port: int
    api: str
    keys: dict[str, Path]
    tokens: dict[str, str]
    output: list[str] = field(default_factory=list)

    def sftp(
        self, member: str, *commands: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return openssh_batch(
            self.home / f"batch-{member}",
            commands,
            key=self.keys[member],
            port=self.sftp_port,
            member=member,
            known_hosts=self.home / "known_hosts",
        )

    def put(self, member: str, *files: Path) -> None:
        """Each file uploaded as .tmp and renamed into inbox/ (as jdx submit does), in order."""
        commands = []
        for local in files:
            commands += [f"put {local} inbox/{local.name}.tmp",
                         f"rename inbox/{local.name}.tmp inbox/{local.name}"]  # fmt: skip
        done = self.sftp(member, *commands)
        assert done.returncode == 0, done.stderr

    def upload(
        self,
        member: str,
        local: Path,
        records: int,
        as_of: dt.date,
        control: dict[str, Any] | None = None,
    ) -> None:
        """Data file then its control file (``control``: keys to override in it)."""
        ctl = local.with_name(local.name.split(".")[0] + ".ctl")
        ctl.write_bytes(
            control_for(
                local.name,
                local.read_bytes(),
                records,
                **{"as_of": as_of.isoformat(), **(control or {})},
            )
        )
        self.put(member, local, ctl)

    def fetch(self, member: str, name: str, local: Path, timeout: float = 90.0) -> Path:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sftp(member, f"get outbox/{name} {local}").returncode == 0:
                return local
            time.sleep(0.3)
        pytest.fail(f"no outbox/{name} for {member} within {timeout} s: {self.output}")

    def receipt(self, member: str, name: str, local: Path) -> dict[str, Any]:
        return dict(json.loads(self.fetch(member, name, local).read_text()))

    def client(self, member: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.api,
            headers={"Authorization": f"Bearer {self.tokens[member]}"},
            timeout=60,
        )


def jdx(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JDX, *args], env={**serve_env(home), **(env or {})}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def serve_env(home: Path) -> dict[str, str]:
    return {**environment(home), "JDX_API_RECIPROCITY_CACHE_SECONDS": "0"}


@contextmanager
def running_exchange(
    root: Path,
    members: dict[str, tuple[dt.date, str]],
    env: dict[str, str] | None = None,
    products: tuple[str, ...] = ("multi_loan", "batch", "usage"),
) -> Iterator[Exchange]:
    """``jdx init``, the members (code → (joined, type)) with SSH and API keys (for
    ``products``), then ``jdx serve`` until the block ends."""
    home = root / "home"
    assert jdx(home, "init").returncode == 0
    keys: dict[str, Path] = {}
    tokens: dict[str, str] = {}
    for code, (joined, kind) in members.items():
        added = jdx(home, "member", "add", code, "--name", f"{code} Ltd", "--type", kind,
                    "--joined", joined.isoformat())  # fmt: skip
        assert added.returncode == 0, added.stderr
        folder = root / code
        folder.mkdir()
        private, public = make_key(folder)
        assert jdx(home, "key", "add-ssh", code, str(public)).returncode == 0
        keys[code] = private
        wanted = [arg for product in products for arg in ("--product", product)]
        issued = jdx(home, "key", "issue-api", code, *wanted)
        assert issued.returncode == 0, issued.stderr
        tokens[code] = issued.stdout.strip()
    proc = subprocess.Popen(
        [*JDX, "serve"], env={**serve_env(home), **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    output: list[str] = []
    sftp_port, api = 0, ""
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line.rstrip())
        if found := re.match(r"sftp: 127\.0\.0\.1:(\d+), host key", line):
            sftp_port = int(found.group(1))
        if found := re.match(r"api: (http://127\.0\.0\.1:\d+) ", line):
            api = found.group(1)
        if line.startswith("serving"):
            break
    assert sftp_port and api, output
    try:
        yield Exchange(home, proc, sftp_port, api, keys, tokens, output)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)  # only if it did not stop: this test's own process
            proc.wait(timeout=30)
