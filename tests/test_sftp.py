"""The members' SFTP server against real clients: OpenSSH ``sftp -b`` and paramiko, on loopback.

Each test starts the real server (port 0) with a persisted host key. Member keys are generated
here. ``authorized_keys`` is a small dict-backed callable that stands in for the member registry
*only* to keep these tests independent of it; ``test_registry_keys_and_suspension`` wires the real
registry (SQLite) the way ``jdx sftp serve`` does.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import paramiko
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.errors import InvalidInput
from ingest.areas import member_area
from ingest.errors import BadDataFile, SubmitError
from ingest.settings import IngestSettings, SftpSettings
from ingest.sftp import auth as auth_module
from ingest.sftp.auth import key_blob
from ingest.sftp.client import connect, open_sftp, upload_then_rename
from ingest.sftp.control import build_control, parse_data_name
from ingest.sftp.filesystem import Refused, map_path
from ingest.sftp.server import SFTPLandingServer

SFTP = shutil.which("sftp")
needs_openssh = pytest.mark.skipif(SFTP is None, reason="OpenSSH sftp client not installed")


@dataclass
class MemberKey:
    path: Path
    public: str


def make_key(directory: Path, name: str) -> MemberKey:
    key = Ed25519PrivateKey.generate()
    path = directory / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)  # OpenSSH refuses readable private keys
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return MemberKey(path, public.decode() + f" {name}@test")


def openssh_batch(
    script: Path,
    commands: Iterable[str],
    *,
    key: Path,
    port: int,
    member: str,
    known_hosts: Path,
    options: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the OpenSSH client's ``sftp -b`` as ``member`` on 127.0.0.1 (stops at the first failing
    command; ``script`` receives the commands). ``options`` come first, so they win over the
    defaults (ssh takes the first value)."""
    script.write_text("".join(c + "\n" for c in commands))
    assert SFTP is not None
    return subprocess.run(
        [
            SFTP, *options, "-b", str(script),
            "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            "-i", str(key), "-P", str(port), f"{member}@127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip


@dataclass
class Landing:
    """A running server with its keys, the stand-in registry and the events it reported."""

    server: SFTPLandingServer
    home: Path
    keys: dict[str, MemberKey]
    registry: dict[str, list[str]]
    closed: list[tuple[str, Path]] = field(default_factory=list)
    renamed: list[tuple[str, Path]] = field(default_factory=list)
    clients: list[paramiko.SSHClient] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.address[1]

    def area(self, member: str) -> Path:
        return self.home / "members" / member

    def sftp(self, member: str, key: str | None = None) -> paramiko.SFTPClient:
        client = connect(
            "127.0.0.1",
            self.port,
            member,
            self.keys[key or member].path,
            known_hosts=self.home / "known_hosts_paramiko",
            accept_new_host_key=True,
            timeout=10,
        )
        self.clients.append(client)  # closed when the test ends
        return open_sftp(client)

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()

    def openssh(
        self, member: str, *commands: str, key: str | None = None, options: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Run ``sftp -b`` (stops at the first failing command) and return the finished process.

        ``options`` come first, so they win over the defaults (ssh takes the first value).
        """
        return openssh_batch(
            self.home / "batch",
            commands,
            key=self.keys[key or member].path,
            port=self.port,
            member=member,
            known_hosts=self.home / "known_hosts_openssh",
            options=options,
        )


def start_server(
    home: Path, registry: dict[str, list[str]], landing: Landing | None = None, port: int = 0
) -> SFTPLandingServer:
    sftp, ingest = SftpSettings(port=port).resolved(home), IngestSettings().resolved(home)

    def authorized_keys(member: str) -> list[str]:
        return list(registry.get(member, []))

    def closed(member: str, path: Path) -> None:
        if landing is not None:
            landing.closed.append((member, path))

    def renamed(member: str, path: Path) -> None:
        if landing is not None:
            landing.renamed.append((member, path))

    server = SFTPLandingServer.from_settings(
        sftp, ingest, authorized_keys, on_file_closed=closed, on_file_renamed=renamed
    )
    server.start()
    return server


@pytest.fixture(scope="module")
def member_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MemberKey]:
    directory = tmp_path_factory.mktemp("keys")
    return {name: make_key(directory, name) for name in ("AAA", "BBB", "STRANGER")}


@pytest.fixture
def landing(tmp_path: Path, member_keys: dict[str, MemberKey]) -> Iterator[Landing]:
    registry = {"AAA": [member_keys["AAA"].public], "BBB": [member_keys["BBB"].public]}
    holder = Landing(server=None, home=tmp_path, keys=member_keys, registry=registry)  # type: ignore[arg-type]
    holder.server = start_server(tmp_path, registry, holder)
    yield holder
    holder.close_clients()
    holder.server.stop()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- OpenSSH client --------------------------------------------------------------------------


@needs_openssh
def test_openssh_put_rename_and_get_from_outbox(landing: Landing, tmp_path: Path) -> None:
    data = tmp_path / "upload.bin"
    data.write_bytes(os.urandom(3_000_000))
    area = landing.area("AAA")
    landing.openssh("AAA", "ls")  # first login creates the area
    (area / "outbox" / "r.receipt.json").write_text('{"status": "accepted"}')
    back = tmp_path / "receipt.json"
    done = landing.openssh(
        "AAA",
        f"put {data} inbox/plain.bin",
        f"put {data} inbox/x.tmp",
        "rename inbox/x.tmp inbox/x.bin",
        "ls inbox",
        f"get outbox/r.receipt.json {back}",
    )
    assert done.returncode == 0, done.stderr
    assert sha(area / "inbox" / "plain.bin") == sha(data)
    assert sha(area / "inbox" / "x.bin") == sha(data)
    assert not (area / "inbox" / "x.tmp").exists()
    assert "x.bin" in done.stdout and "plain.bin" in done.stdout
    assert json.loads(back.read_text()) == {"status": "accepted"}
    assert ("AAA", area / "inbox" / "x.bin") in landing.renamed
    assert {p.name for _, p in landing.closed} >= {"plain.bin", "x.tmp"}


@needs_openssh
@pytest.mark.parametrize(
    "command",
    [
        "get ../../../../etc/passwd {tmp}/stolen",
        "get /etc/passwd {tmp}/stolen",
        "get inbox/../../BBB/inbox/secret {tmp}/stolen",
        "put {data} ../escaped",
        "put {data} /escaped",
        "put {data} /tmp/escaped",
        "put {data} outbox/forged.receipt.json",
        "rename inbox/own outbox/own",
        "rm outbox/r.receipt.json",
        "symlink /etc/passwd inbox/link",
        "mkdir inbox/sub",
        "mkdir /sub",
        "rmdir inbox",
        "get inbox/planted {tmp}/stolen",
        "put {data} inbox/planted",
    ],
)
def test_openssh_escapes_and_outbox_writes_refused(
    landing: Landing, tmp_path: Path, command: str
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("outside the member area\n")
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 1000)
    landing.openssh("BBB", "ls")
    (landing.area("BBB") / "inbox" / "secret").write_text("BBB's file\n")
    area = landing.area("AAA")
    landing.openssh("AAA", "ls")
    (area / "inbox" / "own").write_text("own\n")
    (area / "outbox" / "r.receipt.json").write_text("{}")
    os.symlink(outside, area / "inbox" / "planted")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    done = landing.openssh("AAA", command.format(tmp=tmp_path, data=data))

    assert done.returncode != 0
    assert (
        "Permission denied" in done.stderr
        or "not found" in done.stderr
        or "No such file" in done.stderr
    ), done.stderr
    assert not (tmp_path / "stolen").exists()
    assert outside.read_text() == "outside the member area\n"
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.name != "batch")
    assert after == [p for p in before if p.name != "batch"]


@needs_openssh
def test_openssh_unknown_key_and_wrong_member_refused(landing: Landing) -> None:
    stranger = landing.openssh("AAA", "ls", key="STRANGER")
    assert stranger.returncode == 255 and "Permission denied" in stranger.stderr
    other = landing.openssh("BBB", "ls", key="AAA")  # a valid key, but not BBB's
    assert other.returncode == 255
    bad_name = landing.openssh("../AAA", "ls", key="AAA")
    assert bad_name.returncode == 255
    members = landing.home / "members"
    assert not members.exists() or list(members.iterdir()) == []  # no area for a refused login


@needs_openssh
def test_host_key_survives_restart(tmp_path: Path, member_keys: dict[str, MemberKey]) -> None:
    registry = {"AAA": [member_keys["AAA"].public]}
    landing = Landing(
        server=start_server(tmp_path, registry), home=tmp_path, keys=member_keys, registry=registry
    )
    first, port = landing.server.host_key.get_base64(), landing.port
    try:
        assert landing.openssh("AAA", "ls").returncode == 0  # records the key in known_hosts
    finally:
        landing.server.stop()
    key_file = tmp_path / "secrets" / "sftp_host_ed25519"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    landing.server = start_server(tmp_path, registry, port=port)  # known_hosts names the port
    try:
        assert landing.server.host_key.get_base64() == first
        # OpenSSH, checking strictly against the known_hosts written above, accepts it
        again = landing.openssh("AAA", "ls", options=("-o", "StrictHostKeyChecking=yes"))
        assert again.returncode == 0, again.stderr
        assert "HOST IDENTIFICATION HAS CHANGED" not in again.stderr
    finally:
        landing.server.stop()


# -- paramiko client ------------------------------------------------------------------------


def test_paramiko_view_upload_rename_read_back(landing: Landing) -> None:
    sftp = landing.sftp("AAA")
    assert sorted(sftp.listdir("/")) == ["inbox", "outbox"]
    assert sftp.normalize(".") == "/"
    assert sftp.normalize("../..") == "/"
    payload = os.urandom(1_500_000)
    upload_then_rename(sftp, payload, "AAA_20240131_001.loans.csv")
    with sftp.open("inbox/AAA_20240131_001.loans.csv", "rb") as f:
        assert f.read() == payload
    assert sftp.listdir("inbox") == ["AAA_20240131_001.loans.csv"]
    assert sftp.stat("inbox/AAA_20240131_001.loans.csv").st_size == len(payload)
    with pytest.raises(PermissionError):
        sftp.open("outbox/forged", "wb")
    with pytest.raises(PermissionError):
        sftp.remove("outbox/anything")
    with pytest.raises(FileNotFoundError):
        sftp.open("inbox/../../BBB/inbox/x", "rb")
    with pytest.raises(PermissionError):
        sftp.symlink("/etc/passwd", "inbox/link")
    with pytest.raises(OSError):
        sftp.rename("inbox/AAA_20240131_001.loans.csv", "/AAA_x")
    sftp.open("inbox/other", "wb").close()
    with pytest.raises(OSError):  # plain SFTP rename never replaces a file
        sftp.rename("inbox/other", "inbox/AAA_20240131_001.loans.csv")
    sftp.posix_rename("inbox/other", "inbox/AAA_20240131_001.loans.csv")  # this one does
    assert sftp.stat("inbox/AAA_20240131_001.loans.csv").st_size == 0
    (landing.area("AAA") / "outbox" / "r.receipt.json").write_text('{"status": "duplicate"}')
    (landing.area("AAA") / "outbox" / ".r.tmp").write_text("half")
    assert sftp.listdir("outbox") == ["r.receipt.json"]  # the loader's temporary files are hidden
    with sftp.open("outbox/r.receipt.json", "rb") as f:
        assert json.loads(f.read()) == {"status": "duplicate"}
    with pytest.raises(FileNotFoundError):
        sftp.open("outbox/.r.tmp", "rb")
    sftp.remove("inbox/AAA_20240131_001.loans.csv")  # not processed yet: may be withdrawn
    assert sftp.listdir("inbox") == []
    area = landing.area("AAA")
    assert ("AAA", area / "inbox" / "AAA_20240131_001.loans.csv") in landing.renamed
    assert not any(p.is_symlink() for p in area.rglob("*"))


def test_only_the_sftp_subsystem_is_served(landing: Landing) -> None:
    transport = landing.sftp("AAA").get_channel().get_transport()
    for attempt in (
        lambda: transport.open_session().exec_command("cat /etc/passwd"),
        lambda: transport.open_session().invoke_shell(),
        lambda: transport.open_session().invoke_subsystem("scp"),
        lambda: transport.open_channel("direct-tcpip", ("127.0.0.1", 22), ("127.0.0.1", 0)),
    ):
        with pytest.raises(paramiko.SSHException):
            attempt()


def test_planted_symlinks_are_neither_listed_nor_followed(landing: Landing, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    sftp = landing.sftp("AAA")
    area = landing.area("AAA")
    os.symlink(outside / "secret", area / "inbox" / "link")
    assert sftp.listdir("inbox") == []
    for call in (lambda: sftp.stat("inbox/link"), lambda: sftp.open("inbox/link", "rb")):
        with pytest.raises(PermissionError):
            call()
    with pytest.raises(PermissionError):
        sftp.open("inbox/link", "wb")
    assert (outside / "secret").read_text() == "secret"
    # the outbox directory itself replaced by a link out of the area
    shutil.rmtree(area / "outbox")
    os.symlink(outside, area / "outbox")
    with pytest.raises(PermissionError):
        sftp.listdir("outbox")
    with pytest.raises(PermissionError):
        sftp.open("outbox/secret", "rb")


def test_unknown_key_refused_and_suspension_applies_without_restart(
    landing: Landing, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SubmitError, match="refused"):
        landing.sftp("AAA", key="STRANGER")
    live = landing.sftp("AAA")
    live.open("inbox/before", "wb").close()

    landing.registry["AAA"] = []  # the member is suspended in the registry
    with pytest.raises(SubmitError, match="refused"):
        landing.sftp("AAA")  # the very next connection
    monkeypatch.setattr(auth_module, "RECHECK_SECONDS", 0.0)
    with pytest.raises((OSError, EOFError, paramiko.SSHException)):  # the open session is closed
        live.listdir("outbox")
    with pytest.raises((OSError, EOFError, paramiko.SSHException)):
        live.open("inbox/after", "wb").close()
    assert not (landing.area("AAA") / "inbox" / "after").exists()

    landing.registry["AAA"] = [landing.keys["AAA"].public]  # reinstated
    landing.sftp("AAA").open("inbox/again", "wb").close()
    assert landing.sftp("BBB").listdir("inbox") == []


def test_close_event_fires_when_client_dies_mid_upload(landing: Landing) -> None:
    sftp = landing.sftp("AAA")
    f = sftp.open("inbox/partial.tmp", "wb")
    f.write(b"x" * 100_000)
    f.flush()
    sftp.get_channel().get_transport().sock.close()  # the client dies
    deadline = time.monotonic() + 10
    while not landing.closed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert landing.closed == [("AAA", landing.area("AAA") / "inbox" / "partial.tmp")]
    assert landing.renamed == []  # a close is not a completed upload


def test_sixteen_concurrent_uploads_arrive_intact(landing: Landing) -> None:
    uploads = {
        (member, f"{member}_20240131_{i:03d}.loans.csv"): os.urandom(1_000_000 + i)
        for i in range(16)
        for member in ["AAA" if i % 2 else "BBB"]
    }
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def upload(member: str, name: str, data: bytes) -> None:
        try:
            sftp = landing.sftp(member)  # one connection per thread, all open at once
            barrier.wait(timeout=30)
            upload_then_rename(sftp, data, name)
            sftp.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(*k, v)) for k, v in uploads.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for (member, name), data in uploads.items():
        on_disk = landing.area(member) / "inbox" / name
        assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_stop_closes_listener_and_connections(landing: Landing) -> None:
    sftp = landing.sftp("AAA")
    port = landing.port
    landing.server.stop()
    with pytest.raises((OSError, EOFError, paramiko.SSHException)):
        sftp.listdir("inbox")
    with pytest.raises(SubmitError, match="cannot connect"):
        connect(
            "127.0.0.1",
            port,
            "AAA",
            landing.keys["AAA"].path,
            accept_new_host_key=True,
            known_hosts=landing.home / "kh",
            timeout=2,
        )
    assert landing.server.connections == 0


def test_registry_keys_and_suspension(
    registry: str, tmp_path: Path, member_keys: dict[str, MemberKey]
) -> None:
    reg = pytest.importorskip("exchange.registry")
    from exchange.registry import db as registry_db
    from runtime.build import registry_authorized_keys

    with registry_db.session(registry) as db:
        reg.add_member(db, code="AAA", name="Member A", type="MICROLOAN", actor="test")
        reg.add_ssh_key(db, "AAA", member_keys["AAA"].public, actor="test")
    sftp, ingest = SftpSettings(port=0).resolved(tmp_path), IngestSettings().resolved(tmp_path)
    server = SFTPLandingServer.from_settings(sftp, ingest, registry_authorized_keys(registry))
    server.start()
    landing = Landing(server=server, home=tmp_path, keys=member_keys, registry={})
    try:
        landing.sftp("AAA").open("inbox/f", "wb").close()
        with registry_db.session(registry) as db:
            reg.suspend_member(db, "AAA", "test suspension", actor="test")
        with pytest.raises(SubmitError, match="refused"):
            landing.sftp("AAA")
    finally:
        server.stop()


# -- units: path mapping, key parsing, control files ----------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "/"),
        (".", "/"),
        ("/inbox", "/inbox"),
        ("inbox/a.csv", "/inbox/a.csv"),
        ("/inbox/../outbox/r.json", "/outbox/r.json"),
        ("../../inbox/a", "/inbox/a"),
        ("//inbox//a", "/inbox/a"),
        ("x", "/x"),
    ],
)
def test_map_path_normalises_inside_the_view(path: str, expected: str) -> None:
    assert map_path(path).virtual == expected


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "inbox/a/b", "archive/x", "inbox/a\x00b", "inbox/a\nb", "inbox\\a"]
)
def test_map_path_refuses_outside_or_odd_names(path: str) -> None:
    with pytest.raises(Refused):
        map_path(path)


def test_key_blob_reads_authorized_keys_lines(member_keys: dict[str, MemberKey]) -> None:
    line = member_keys["AAA"].public
    blob = paramiko.Ed25519Key(filename=str(member_keys["AAA"].path)).asbytes()
    assert key_blob(line) == blob
    assert key_blob('from="10.0.0.1",no-pty ' + line) == blob
    assert key_blob("ssh-ed25519 not-base64") is None
    assert key_blob("") is None


LOANS = 'record_type,account_id,as_of_date,name\r\nA,1,2024-01-30,"Li\nLei"\r\nA,2,2024-01-31,Wang\r\n\r\nA,3,not-a-date,Zhao\r\n'


def test_control_file_plain_and_gzip(tmp_path: Path) -> None:
    plain = tmp_path / "AAA_20240131_001.loans.csv"
    plain.write_text(LOANS, newline="")
    zipped = tmp_path / "AAA_20240131_002.loans.csv.gz"
    zipped.write_bytes(gzip.compress(LOANS.encode()))
    for path in (plain, zipped):
        control = build_control(path)
        body = json.loads(control.to_json())
        assert body == {
            "spec": "loans/1",
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),  # of the bytes as uploaded
            "records": 3,  # the quoted line break is one record, the blank line none
            "as_of": "2024-01-31",
        }
        assert control.name == path.name.split(".")[0] + ".ctl"
    assert build_control(plain, as_of=date(2024, 1, 29)).as_of == date(2024, 1, 29)
    header_only = tmp_path / "AAA_20240131_003.loans.csv"
    header_only.write_text("record_type,as_of_date\n")
    with pytest.raises(BadDataFile, match="--as-of"):
        build_control(header_only)
    assert build_control(header_only, as_of=date(2024, 1, 31)).records == 0
    with pytest.raises(InvalidInput):
        parse_data_name("AAA_20240230_001.loans.csv")
    latin = tmp_path / "AAA_20240131_004.loans.csv"
    latin.write_bytes("as_of_date,name\n2024-01-31,Mü\n".encode("latin-1"))
    with pytest.raises(BadDataFile, match="not UTF-8"):
        build_control(latin)
    not_gzip = tmp_path / "AAA_20240131_005.loans.csv.gz"
    not_gzip.write_text(LOANS)
    with pytest.raises(BadDataFile, match="in gzip"):
        build_control(not_gzip)


def _loader(landing: Landing, status: str | None) -> None:
    """A stand-in loader: answers a control file renamed into place with a receipt."""

    def on_renamed(member: str, path: Path) -> None:
        landing.renamed.append((member, path))
        if status and path.name.endswith(".ctl"):
            control = json.loads(path.read_text())
            area = member_area(landing.home / "members", member)
            ok = sha(path.parent / control["file"]) == control["sha256"]
            receipt = {"status": status if ok else "rejected", "records": control["records"]}
            tmp = area.outbox / ".receipt.tmp"
            tmp.write_text(json.dumps(receipt))
            tmp.rename(area.receipt_path(path.name.removesuffix(".ctl")))

    landing.server.on_file_renamed = on_renamed


@pytest.mark.parametrize(("status", "exit_code"), [("accepted", 0), ("rejected", 1), (None, 3)])
def test_jdx_submit(landing: Landing, tmp_path: Path, status: str | None, exit_code: int) -> None:
    from cli.ingest import submit_cmd

    _loader(landing, status)
    data = tmp_path / "AAA_20240131_001.loans.csv.gz"
    data.write_bytes(gzip.compress(LOANS.encode()))
    args = [
        str(data),
        "--member",
        "AAA",
        "--key",
        str(landing.keys["AAA"].path),
        "--port",
        str(landing.port),
        "--known-hosts",
        str(tmp_path / "kh"),
        "--accept-new-host-key",
        "--timeout",
        "1" if status is None else "20",
    ]
    result = CliRunner().invoke(submit_cmd, args)
    assert result.exit_code == exit_code, result.output
    inbox = landing.area("AAA") / "inbox"
    assert sha(inbox / data.name) == sha(data)
    assert json.loads((inbox / "AAA_20240131_001.ctl").read_text())["records"] == 3
    assert sorted(p.name for p in inbox.iterdir()) == ["AAA_20240131_001.ctl", data.name]
    if status is not None:
        assert json.loads(result.stdout)["status"] == status
    else:
        assert "no receipt within 1 s" in result.stderr


def test_jdx_submit_usage_errors(landing: Landing, tmp_path: Path) -> None:
    from cli.ingest import submit_cmd

    data = tmp_path / "BBB_20240131_001.loans.csv"
    data.write_text(LOANS)
    common = [
        "--key",
        str(landing.keys["AAA"].path),
        "--port",
        str(landing.port),
        "--known-hosts",
        str(tmp_path / "kh"),
    ]
    wrong_member = CliRunner().invoke(
        submit_cmd, [str(data), "--member", "AAA", *common, "--accept-new-host-key"]
    )
    assert isinstance(wrong_member.exception, SubmitError) and "names member BBB" in str(
        wrong_member.exception
    )
    unknown_host = CliRunner().invoke(submit_cmd, [str(data), "--member", "BBB", *common])
    assert isinstance(unknown_host.exception, SubmitError)
    assert "--accept-new-host-key" in str(unknown_host.exception)
    assert unknown_host.exception.exit_code == 2
