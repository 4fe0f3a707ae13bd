"""What a member can do in its SFTP view: the path mapping and the paramiko SFTP interface.

The member sees a virtual root ``/`` holding exactly two directories (see :mod:`ingest.areas`):

| path          | the member may                                                          |
|---------------|-------------------------------------------------------------------------|
| ``/``         | list, stat (read-only; nothing can be created here)                     |
| ``/inbox/x``  | create, write, read back, stat, list, rename within ``/inbox``, remove  |
| ``/outbox/x`` | list, stat, read; never write, create, rename, remove                   |

and nothing else: no directories are created or removed anywhere (the inbox is flat), no symbolic
link is created, read or followed, and the area's ``archive/`` and parent directories are not
reachable. Removing one's own inbox files is allowed: whatever is still in ``inbox/`` has not been
claimed by the loader (it moves files out before reading them), so a member may withdraw a wrong
upload before its control file arrives.

How escapes are prevented: a client path is normalised lexically against the virtual root (``..``
cannot climb above ``/``), must name ``/inbox`` or ``/outbox`` or one file directly in them, and a
file name may hold no ``/``, NUL or control character. The host directory's ``realpath`` must be
the member's own area directory, files are opened with ``O_NOFOLLOW`` and anything that is not a
regular file (a symbolic link planted on disk, a FIFO, a directory) is refused. Refusals map to
``SFTP_PERMISSION_DENIED`` (exists or not allowed) or ``SFTP_NO_SUCH_FILE`` (missing). Every
open, listing, rename and remove first re-checks that the login's key is still authorised
(rate-limited; see :mod:`ingest.sftp.auth`), so a suspension also stops sessions already open.

Events: closing a file opened for writing calls ``on_file_closed(member, path)``; a rename into
place calls ``on_file_renamed(member, new_path)``, both with the host path in ``inbox/``. A close
also happens when a client dies mid-upload, so it never means "complete": only a control file whose
checksum matches does. Callbacks run on the session's thread (several sessions call them at
once), must be thread-safe and return quickly (e.g. put the event on a ``queue.Queue``); their
exceptions are logged, never sent to the member. The loader must also
scan inboxes (at start-up and periodically): events are lost while nothing listens.
"""

from __future__ import annotations

import errno
import logging
import os
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import paramiko
from paramiko.sftp import (
    SFTP_FAILURE,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_PERMISSION_DENIED,
)

from ingest.areas import INBOX, OUTBOX, VISIBLE_DIRS, MemberArea

log = logging.getLogger("jdx.ingest.sftp")

FileEvent = Callable[[str, Path], None]

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_MAX_NAME_BYTES = 255


class Refused(Exception):
    """A request the member may not make; ``status`` is the SFTP code sent back."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class Target:
    """A client path mapped into the view: ``folder`` None is the root, ``name`` None the folder."""

    folder: str | None
    name: str | None

    @property
    def virtual(self) -> str:
        return "/" + "/".join(p for p in (self.folder, self.name) if p)


def map_path(path: str) -> Target:
    """Map a client path onto the view, or raise :class:`Refused`.

    Relative paths are taken from ``/``; ``..`` never climbs above ``/`` (a chroot's semantics).
    """
    if "\x00" in path or "\\" in path:
        raise Refused(SFTP_PERMISSION_DENIED)
    parts = [p for p in posixpath.normpath("/" + path).split("/") if p]
    if not parts:
        return Target(None, None)
    if len(parts) > 2 or (len(parts) == 2 and parts[0] not in VISIBLE_DIRS):
        raise Refused(SFTP_NO_SUCH_FILE)  # no such parent directory
    if len(parts) == 1:
        if parts[0] in VISIBLE_DIRS:
            return Target(parts[0], None)
        _check_name(parts[0])
        return Target(None, parts[0])  # a root-level entry: never exists, never creatable
    _check_name(parts[1])
    return Target(parts[0], parts[1])


def _check_name(name: str) -> None:
    if (
        any(ord(c) < 32 or ord(c) == 127 for c in name)
        or len(name.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES
    ):
        raise Refused(SFTP_PERMISSION_DENIED)


def _status(exc: OSError) -> int:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return SFTP_NO_SUCH_FILE
    if exc.errno in (errno.EACCES, errno.EPERM, errno.ELOOP, errno.EISDIR, errno.EEXIST):
        return SFTP_PERMISSION_DENIED
    return SFTP_FAILURE


@dataclass(frozen=True)
class AreaAccess:
    """Everything one authenticated session needs to serve its member's area."""

    member: str
    area: MemberArea
    max_file_bytes: int
    still_allowed: Callable[[], bool]  # re-checks the login's key (cheap: rate-limited)
    on_file_closed: FileEvent | None = None
    on_file_renamed: FileEvent | None = None


class HasAccess(Protocol):
    """The paramiko ``ServerInterface`` of an authenticated connection (see ``server.py``)."""

    access: AreaAccess | None


def _notify(callback: FileEvent | None, what: str, member: str, path: Path) -> None:
    if callback is None:
        return
    try:
        callback(member, path)
    except Exception:
        log.exception("%s callback failed for member %s, file %s", what, member, path.name)


def _attrs(st: os.stat_result, name: str, perms: int) -> paramiko.SFTPAttributes:
    attrs = paramiko.SFTPAttributes.from_stat(st, name)
    attrs.st_mode = stat.S_IFMT(st.st_mode) | perms
    attrs.st_uid = attrs.st_gid = 0  # the server's accounts are none of the member's business
    return attrs


class MemberFile(paramiko.SFTPHandle):
    """An open regular file in the member's area, read and written with ``pread``/``pwrite``."""

    def __init__(self, fd: int, path: Path, writable: bool, access: AreaAccess) -> None:
        super().__init__()
        self.fd = fd
        self.path = path
        self.writable = writable
        self.access = access
        self.written = 0
        self._closed = False

    def read(self, offset: int, length: int) -> bytes | int:
        try:
            return os.pread(self.fd, length, offset)
        except OSError as exc:
            return _status(exc)

    def write(self, offset: int, data: bytes) -> int:
        if not self.writable:
            return SFTP_PERMISSION_DENIED
        if offset + len(data) > self.access.max_file_bytes:
            log.warning(
                "member %s: %s exceeds the %d-byte file limit",
                self.access.member,
                self.path.name,
                self.access.max_file_bytes,
            )
            return SFTP_FAILURE
        try:
            view = memoryview(data)
            while view:
                done = os.pwrite(self.fd, view, offset)
                view, offset = view[done:], offset + done
        except OSError as exc:
            return _status(exc)
        self.written += len(data)
        return SFTP_OK

    def stat(self) -> paramiko.SFTPAttributes | int:
        try:
            st = os.fstat(self.fd)
        except OSError as exc:
            return _status(exc)
        return _attrs(st, self.path.name, 0o600 if self.writable else 0o400)

    def chattr(self, attr: paramiko.SFTPAttributes) -> int:
        return _chattr(self.fd, self.writable, attr)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.close(self.fd)
        if self.writable:
            log.info(
                "member %s closed %s (%d bytes written in this handle)",
                self.access.member,
                self.path.name,
                self.written,
            )
            _notify(self.access.on_file_closed, "on_file_closed", self.access.member, self.path)


def _chattr(fd: int, writable: bool, attr: paramiko.SFTPAttributes) -> int:
    """Times and size may change on inbox files; permissions and owners are ignored."""
    if not writable:
        return SFTP_PERMISSION_DENIED
    try:
        if attr._flags & attr.FLAG_SIZE:
            os.ftruncate(fd, attr.st_size)
        if attr._flags & attr.FLAG_AMTIME:
            os.utime(fd, (attr.st_atime, attr.st_mtime))
    except OSError as exc:
        return _status(exc)
    return SFTP_OK


class MemberSFTP(paramiko.SFTPServerInterface):
    """paramiko's per-session SFTP interface, confined to one member's area."""

    def __init__(self, server: HasAccess, *args: Any, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        if server.access is None:
            raise RuntimeError("SFTP session on an unauthenticated connection")
        self.access = server.access
        self.area = self.access.area
        self._real_root = os.path.realpath(self.area.root)

    # -- mapping -------------------------------------------------------------------------------

    def _folder(self, folder: str) -> Path:
        """The host directory of ``inbox``/``outbox``, refused unless it really is the area's."""
        path = self.area.root / folder
        if os.path.realpath(path) != os.path.join(self._real_root, folder) or path.is_symlink():
            log.error(
                "member %s: %s is not a plain directory of its area", self.access.member, path
            )
            raise Refused(SFTP_PERMISSION_DENIED)
        return path

    def _file(self, target: Target) -> Path:
        if target.folder is None or target.name is None:
            raise Refused(SFTP_PERMISSION_DENIED)
        if target.folder == OUTBOX and target.name.startswith("."):
            raise Refused(SFTP_NO_SUCH_FILE)  # the loader's temporary files
        return self._folder(target.folder) / target.name

    def _regular(self, path: Path) -> os.stat_result:
        """lstat ``path`` and insist on a regular file (a symbolic link is never followed)."""
        try:
            st = os.lstat(path)
        except OSError as exc:
            raise Refused(_status(exc)) from None
        if not stat.S_ISREG(st.st_mode):
            raise Refused(SFTP_PERMISSION_DENIED)
        return st

    def _allowed(self) -> None:
        """Refuse everything once the member's key is no longer authorised (suspension)."""
        if not self.access.still_allowed():
            raise Refused(SFTP_PERMISSION_DENIED)

    def _inbox_file(self, path: str) -> Path:
        target = map_path(path)
        if target.folder != INBOX or target.name is None:
            raise Refused(SFTP_PERMISSION_DENIED)
        self._allowed()
        return self._file(target)

    # -- SFTPServerInterface --------------------------------------------------------------------

    def session_started(self) -> None:
        log.info("member %s: SFTP session started", self.access.member)

    def session_ended(self) -> None:
        log.info("member %s: SFTP session ended", self.access.member)

    def canonicalize(self, path: str) -> str:
        try:
            return map_path(path).virtual
        except Refused:
            return "/"

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        try:
            self._allowed()
            target = map_path(path)
            if target.name is not None:
                return SFTP_NO_SUCH_FILE  # not a directory
            if target.folder is None:
                return [
                    _attrs(os.lstat(self._folder(d)), d, 0o700 if d == INBOX else 0o500)
                    for d in VISIBLE_DIRS
                ]
            out = []
            with os.scandir(self._folder(target.folder)) as entries:
                for entry in entries:
                    if target.folder == OUTBOX and entry.name.startswith("."):
                        continue
                    if entry.is_file(follow_symlinks=False):
                        perms = 0o600 if target.folder == INBOX else 0o400
                        out.append(_attrs(entry.stat(follow_symlinks=False), entry.name, perms))
            return out
        except Refused as exc:
            return exc.status
        except OSError as exc:
            return _status(exc)

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        try:
            target = map_path(path)
            if target.name is None:
                folder = target.folder
                st = os.lstat(self._folder(folder) if folder else self.area.root)
                return _attrs(st, folder or "/", 0o700 if folder == INBOX else 0o500)
            if target.folder is None:
                return SFTP_NO_SUCH_FILE
            st = self._regular(self._file(target))
            return _attrs(st, target.name, 0o600 if target.folder == INBOX else 0o400)
        except Refused as exc:
            return exc.status
        except OSError as exc:
            return _status(exc)

    lstat = stat  # no symbolic links exist in the view

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> MemberFile | int:
        try:
            self._allowed()
            target = map_path(path)
            writing = bool(flags & _WRITE_FLAGS)
            if target.folder is None or target.name is None:
                return (
                    SFTP_PERMISSION_DENIED if writing or target.name is None else SFTP_NO_SUCH_FILE
                )
            if writing and target.folder != INBOX:
                log.warning("member %s: write to %s refused", self.access.member, target.virtual)
                return SFTP_PERMISSION_DENIED
            host = self._inbox_file(path) if writing else self._file(target)
            if os.path.lexists(host):
                self._regular(host)  # never open a FIFO, device, directory or link
            fd = os.open(host, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o640)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                return SFTP_PERMISSION_DENIED
            os.set_blocking(fd, True)
            return MemberFile(fd, host, writing, self.access)
        except Refused as exc:
            return exc.status
        except OSError as exc:
            return _status(exc)

    def remove(self, path: str) -> int:
        try:
            host = self._inbox_file(path)
            self._regular(host)
            os.unlink(host)
            log.info("member %s removed %s", self.access.member, host.name)
            return SFTP_OK
        except Refused as exc:
            return exc.status
        except OSError as exc:
            return _status(exc)

    def _rename(self, oldpath: str, newpath: str, overwrite: bool) -> int:
        try:
            old, new = self._inbox_file(oldpath), self._inbox_file(newpath)
            self._regular(old)
            if overwrite:
                if os.path.lexists(new):
                    self._regular(new)
                os.replace(old, new)
            else:
                os.link(old, new, follow_symlinks=False)  # EEXIST if new exists: SFTP v3 rename
                os.unlink(old)
            log.info("member %s renamed %s to %s", self.access.member, old.name, new.name)
        except Refused as exc:
            return exc.status
        except FileExistsError:
            return SFTP_FAILURE
        except OSError as exc:
            return _status(exc)
        _notify(self.access.on_file_renamed, "on_file_renamed", self.access.member, new)
        return SFTP_OK

    def rename(self, oldpath: str, newpath: str) -> int:
        return self._rename(oldpath, newpath, overwrite=False)

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        return self._rename(oldpath, newpath, overwrite=True)

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        try:
            host = self._inbox_file(path)
            self._regular(host)
            fd = os.open(host, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except Refused as exc:
            return exc.status
        except OSError as exc:
            return _status(exc)
        try:
            return _chattr(fd, True, attr)
        finally:
            os.close(fd)

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return SFTP_PERMISSION_DENIED

    def rmdir(self, path: str) -> int:
        return SFTP_PERMISSION_DENIED

    def readlink(self, path: str) -> int:
        return SFTP_PERMISSION_DENIED

    def symlink(self, target_path: str, path: str) -> int:
        log.warning("member %s: symbolic link creation refused", self.access.member)
        return SFTP_PERMISSION_DENIED
