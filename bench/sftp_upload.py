"""Upload throughput of the members' SFTP server: OpenSSH ``sftp`` and paramiko as clients.

Runs the real server (ingest.sftp.server) in a child process on loopback, uploads one random file
of ``--size-mb`` MB several times with each client, and prints a table of the median. The server
uses the settings' defaults (16 MiB window, 128 KiB packets); the paramiko client uses the same
windows as ``jdx submit`` and pipelined writes.

    .venv/bin/python bench/sftp_upload.py [--size-mb 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Run as a script, this folder is first on sys.path and its ingest.py would hide the ingest
# package: take the folder off before the project's imports (done lazily below).
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

MEMBER = "BENCH"


def _serve(workdir: Path) -> None:
    """Child process: serve until stdin closes; print the port first."""
    from ingest.settings import IngestSettings, SftpSettings
    from ingest.sftp.server import SFTPLandingServer

    pub = (workdir / "member.pub").read_text()
    sftp, ingest = SftpSettings(port=0).resolved(workdir), IngestSettings().resolved(workdir)
    server = SFTPLandingServer.from_settings(
        sftp, ingest, lambda code: [pub] if code == MEMBER else []
    )
    _, port = server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop()


def _keys(workdir: Path) -> Path:
    key = Ed25519PrivateKey.generate()
    path = workdir / "member"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    pub = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    (workdir / "member.pub").write_bytes(pub + b" bench\n")
    return path


def _openssh(
    port: int, key: Path, workdir: Path, local: Path, remote: str, extra: list[str]
) -> float:
    batch = workdir / "batch"
    batch.write_text(f"put {local} inbox/{remote}\n")
    cmd = [
        "sftp",
        "-q",
        *extra,
        "-b",
        str(batch),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        f"UserKnownHostsFile={workdir / 'known_hosts'}",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "LogLevel=ERROR",
        "-i",
        str(key),
        "-P",
        str(port),
        f"{MEMBER}@127.0.0.1",
    ]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _paramiko(port: int, key: Path, workdir: Path, local: Path, remote: str) -> float:
    from ingest.sftp.client import connect, open_sftp

    client = connect(
        "127.0.0.1",
        port,
        MEMBER,
        key,
        known_hosts=workdir / "known_hosts_paramiko",
        accept_new_host_key=True,
    )
    try:
        sftp = open_sftp(client)
        started = time.perf_counter()
        with sftp.open(f"inbox/{remote}", "wb") as f, local.open("rb") as src:
            f.set_pipelined(True)
            while chunk := src.read(1024 * 1024):
                f.write(chunk)
        return time.perf_counter() - started
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="file size in MB (10^6 bytes)")
    parser.add_argument("--runs", type=int, default=3, help="runs per client; the median is shown")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve)
        return

    with tempfile.TemporaryDirectory(prefix="jdx-bench-sftp-") as tmp:
        workdir = Path(tmp)
        key = _keys(workdir)
        local = workdir / "upload.bin"
        with local.open("wb") as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1_000_000))
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(workdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            inbox = workdir / "members" / MEMBER / "inbox"
            clients = {
                "OpenSSH sftp (defaults)": lambda r: _openssh(port, key, workdir, local, r, []),
                "OpenSSH sftp -B 131072 -R 128": lambda r: _openssh(
                    port, key, workdir, local, r, ["-B", "131072", "-R", "128"]
                ),
                "paramiko (jdx submit settings)": lambda r: _paramiko(port, key, workdir, local, r),
            }
            rows = []
            for name, run in clients.items():
                times = []
                for i in range(args.runs):
                    remote = f"run{i}.bin"
                    times.append(run(remote))
                    if (inbox / remote).stat().st_size != local.stat().st_size:
                        raise SystemExit(f"{name}: uploaded size differs")
                    (inbox / remote).unlink()
                median = statistics.median(times)
                rows.append((name, median, args.size_mb / median, times))
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(30)

    cpu = platform.processor() or platform.machine()
    print(
        f"\nSFTP upload over loopback — file {args.size_mb} MB, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, median of {args.runs} runs\n"
    )
    print(f"| {'client':<32} | {'median s':>8} | {'MB/s':>6} | runs (s) |")
    print(f"|{'-' * 34}|{'-' * 10}|{'-' * 8}|----------|")
    for name, median, rate, times in rows:
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"| {name:<32} | {median:>8.2f} | {rate:>6.1f} | {runs} |")


if __name__ == "__main__":
    main()
