"""The members' SFTP server: paramiko, one thread per connection, public-key logins only.

Invariants:

- Members log in as described in :mod:`ingest.sftp.auth` (member code as user name, a key the
  ``authorized_keys`` lookup lists at that moment, re-checked live) and reach only their own area,
  as :mod:`ingest.sftp.filesystem` describes.
- The host key is the persisted one (:mod:`ingest.sftp.hostkey`), so fingerprints survive restarts.
- At most ``max_sessions`` connections at once, each on its own thread; the ``Channel`` objects a
  transport accepts stay referenced until the connection ends (a collected channel closes itself).
- :meth:`SFTPLandingServer.stop` closes the listening socket and every connection.

This module knows nothing of the registry database: ``authorized_keys`` is handed in (the CLI
wires it to :func:`exchange.registry.active_ssh_keys`), which keeps the server testable alone.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import paramiko

from ingest.settings import IngestSettings, SftpSettings
from ingest.sftp.auth import AuthorizedKeys, MemberLogin, key_blob
from ingest.sftp.filesystem import FileEvent, MemberSFTP
from ingest.sftp.hostkey import fingerprint, load_or_create_host_key

log = logging.getLogger("jdx.ingest.sftp")

#: Most SSH channels one connection may open (each SFTP session is one).
MAX_CHANNELS_PER_CONNECTION = 8

__all__ = ["AuthorizedKeys", "SFTPLandingServer", "key_blob"]


class _SFTPSubsystem(paramiko.SFTPServer):
    """paramiko's SFTP subsystem, reading the channel in large chunks.

    paramiko reads each SFTP packet with small ``recv`` calls, and every call on a channel deletes
    the bytes read from the front of the channel's buffer — a copy of everything still queued.
    With the 16 MiB window that buffer holds megabytes, and those copies, not the crypto, were
    the upload bottleneck. Taking the whole queued buffer at once and slicing locally makes the
    cost linear.
    """

    _chunk = 64 * 1024 * 1024  # more than any window: take whatever is queued

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = bytearray()
        self._rpos = 0

    def _read_all(self, n: int) -> bytes:
        buf = self._rbuf
        while len(buf) - self._rpos < n:
            data = self.sock.recv(self._chunk)
            if not data:
                raise EOFError()
            del buf[: self._rpos]  # only the unread tail (< n bytes) is moved
            self._rpos = 0
            buf += data
        out = bytes(buf[self._rpos : self._rpos + n])
        self._rpos += n
        return out


class SFTPLandingServer:
    """The listening server. ``start()`` it (or use it as a context manager), ``stop()`` it.

    Threads: one accepts connections, one per connection runs its SSH transport (paramiko adds
    its own transport and SFTP-session threads). At most ``max_sessions`` connections are served
    at once; more are closed on arrival and logged.
    """

    def __init__(
        self,
        *,
        host_key: paramiko.PKey,
        members_root: Path,
        authorized_keys: AuthorizedKeys,
        host: str = "127.0.0.1",
        port: int = 2222,
        window_size: int = 16 * 1024 * 1024,
        max_packet_size: int = 128 * 1024,
        max_sessions: int = 64,
        login_timeout: float = 30.0,
        max_file_bytes: int = 8 * 1024**3,
        on_file_closed: FileEvent | None = None,
        on_file_renamed: FileEvent | None = None,
    ) -> None:
        self.host_key = host_key
        self.members_root = Path(members_root).absolute()
        self.authorized_keys = authorized_keys
        self.host, self.port = host, port
        self.window_size, self.max_packet_size = window_size, max_packet_size
        self.max_sessions, self.login_timeout = max_sessions, login_timeout
        self.max_file_bytes = max_file_bytes
        self.on_file_closed, self.on_file_renamed = on_file_closed, on_file_renamed
        self._sock: socket.socket | None = None
        self._bound: tuple[str, int] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._transports: dict[int, paramiko.Transport] = {}
        self._threads: set[threading.Thread] = set()
        self._acceptor: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls,
        sftp: SftpSettings,
        ingest: IngestSettings,
        authorized_keys: AuthorizedKeys,
        *,
        on_file_closed: FileEvent | None = None,
        on_file_renamed: FileEvent | None = None,
    ) -> SFTPLandingServer:
        """Build from resolved settings (``resolved(home)``, see :mod:`ingest.settings`)."""
        if sftp.host_key is None or ingest.members_root is None:
            raise ValueError(
                "resolve the settings first (resolved(home)): host_key/members_root unset"
            )
        key, created = load_or_create_host_key(sftp.host_key)
        if created:
            log.info("generated SFTP host key %s (%s)", sftp.host_key, fingerprint(key))
        return cls(
            host_key=key,
            members_root=ingest.members_root,
            authorized_keys=authorized_keys,
            host=sftp.host,
            port=sftp.port,
            window_size=sftp.window_size,
            max_packet_size=sftp.max_packet_size,
            max_sessions=sftp.max_sessions,
            login_timeout=sftp.login_timeout,
            max_file_bytes=sftp.max_file_bytes,
            on_file_closed=on_file_closed,
            on_file_renamed=on_file_renamed,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); the real port when ``port`` was 0."""
        return self._bound or (self.host, self.port)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._transports)

    def start(self) -> tuple[str, int]:
        """Bind, listen and start accepting; return the bound address."""
        if self._sock is not None:
            raise RuntimeError("server already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._sock = socket.create_server((self.host, self.port), family=family, backlog=128)
        self._sock.settimeout(0.25)
        self._bound = self._sock.getsockname()[:2]
        self._acceptor = threading.Thread(target=self._accept_loop, name="sftp-accept", daemon=True)
        self._acceptor.start()
        log.info(
            "SFTP server listening on %s:%d, host key %s, members under %s",
            *self.address,
            fingerprint(self.host_key),
            self.members_root,
        )
        return self.address

    def serve_forever(self) -> None:
        """Start if needed and block until :meth:`stop` is called (from another thread/signal)."""
        if self._sock is None:
            self.start()
        while not self._stopping.wait(0.5):
            pass

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listening socket and every connection; wait for their threads."""
        self._stopping.set()
        if self._sock is not None:
            self._sock.close()
        if self._acceptor is not None:
            self._acceptor.join(timeout)
        with self._lock:
            transports = list(self._transports.values())
            threads = list(self._threads)
        for transport in transports:
            transport.close()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        log.info("SFTP server stopped")

    def __enter__(self) -> SFTPLandingServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- authorisation -------------------------------------------------------------------------

    def key_is_authorized(self, member: str, blob: bytes) -> bool:
        """Ask ``authorized_keys`` now whether ``blob`` is one of ``member``'s keys."""
        try:
            lines = self.authorized_keys(member)
        except Exception:
            log.exception("authorized_keys lookup failed for member %s: refusing", member)
            return False
        return any(key_blob(line) == blob for line in lines)

    # -- connections ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                log.exception("accept failed")
                time.sleep(0.1)
                continue
            remote = f"{addr[0]}:{addr[1]}"
            with self._lock:
                full = len(self._threads) >= self.max_sessions
            if full:
                log.warning(
                    "connection from %s refused: %d sessions open", remote, self.max_sessions
                )
                conn.close()
                continue
            thread = threading.Thread(
                target=self._serve, args=(conn, remote), name=f"sftp-{remote}", daemon=True
            )
            with self._lock:
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: socket.socket, remote: str) -> None:
        started = time.monotonic()
        iface = MemberLogin(self, remote)
        transport: paramiko.Transport | None = None
        channels: list[paramiko.Channel] = []  # a collected Channel closes itself: keep them
        try:
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = paramiko.Transport(
                conn,
                default_window_size=self.window_size,
                default_max_packet_size=self.max_packet_size,
            )
            iface.transport = transport
            transport.banner_timeout = transport.handshake_timeout = self.login_timeout
            transport.auth_timeout = self.login_timeout
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", _SFTPSubsystem, MemberSFTP)
            with self._lock:
                self._transports[id(transport)] = transport
            if self._stopping.is_set():
                return
            transport.start_server(server=iface)
            channel = transport.accept(self.login_timeout)
            if channel is None:
                log.info("connection from %s closed without a session", remote)
                return
            channels.append(channel)
            log.info(
                "member %s authenticated from %s with key %s",
                iface.member,
                remote,
                iface.fingerprint,
            )
            while transport.is_active() and not self._stopping.is_set():
                channel = transport.accept(0.5)
                if channel is None:
                    continue
                if len(channels) >= MAX_CHANNELS_PER_CONNECTION:
                    channel.close()
                    continue
                channels.append(channel)
                channels = [c for c in channels if not c.closed]
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("connection from %s ended: %s", remote, type(exc).__name__)
        except Exception:
            log.exception("connection from %s failed", remote)
        finally:
            if transport is not None:
                transport.close()
                with self._lock:
                    self._transports.pop(id(transport), None)
            else:
                conn.close()
            with self._lock:
                self._threads.discard(threading.current_thread())
            if iface.member is not None:
                log.info(
                    "member %s from %s disconnected after %.1f s",
                    iface.member,
                    remote,
                    time.monotonic() - started,
                )
