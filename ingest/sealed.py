"""Sealed files: members' raw data files encrypted at rest in the archive (AES-256-GCM, streamed).

A sealed file is ``<name>.enc``::

    header   = b"JDXSEAL1" ‖ u8 len(key_id) ‖ key_id (ASCII) ‖ nonce prefix (7 random bytes)
               ‖ u32 chunk size (big endian)
    chunk i  = AES-256-GCM(key, nonce = prefix ‖ u32 i ‖ last, plaintext[i], aad = header)

Each chunk holds ``chunk size`` bytes of plaintext (the last one fewer, possibly none) and its
16-byte tag; ``last`` is 1 for the final chunk and 0 before it (the STREAM construction of
Hoang, Reyhanitabar, Rogaway and Vizár, as in Tink and age). So:

* memory stays at a few chunks whatever the file's size (a 2 GiB file needs ~2 MiB);
* every chunk is authenticated before its plaintext is used: an edited, reordered, truncated or
  extended file fails (:class:`SealBroken`), and so does a header edited to claim another key;
* the key id (:func:`key_id`: 16 hex digits of SHA-256 over a label and the key — it identifies
  the key without revealing it) is in the header, so files sealed under a retired key stay
  readable while that key is kept as a previous key, and the archive pass re-seals them under
  the current one (:mod:`ingest.archive`).

Keys are 32 random bytes from the settings (``[secrets] archive_key``; see
:mod:`exchange.keyfiles`). Nothing here logs or prints a key.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from exchange.errors import ConfigError
from ingest.errors import SealBroken, SealKeyUnknown

MAGIC = b"JDXSEAL1"
SEALED_SUFFIX = ".enc"
KEY_BYTES = 32
CHUNK = 1024 * 1024
TAG = 16
_PREFIX = 7


def key_id(key: bytes) -> str:
    """The public name of an archive key: 16 hex digits, stable, revealing nothing of the key."""
    return hashlib.sha256(b"jdx archive key id\0" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The current archive key (seals) and previous ones (only open and are re-sealed)."""

    current: bytes = field(repr=False)
    previous: Sequence[bytes] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for key in (self.current, *self.previous):
            if len(key) != KEY_BYTES:
                raise ConfigError(
                    f"an archive key must be {KEY_BYTES} bytes ({2 * KEY_BYTES} hex digits); "
                    f"one has {len(key)}"
                )

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def key(self, kid: str) -> bytes:
        for key in (self.current, *self.previous):
            if key_id(key) == kid:
                return key
        raise SealKeyUnknown(
            f"the archive key with id {kid} is not configured: put it back as a previous key "
            "([secrets] archive_previous_keys, JDX_ARCHIVE_PREVIOUS_KEYS, or a line in "
            "<home>/secrets/archive_key.previous) to open files sealed under it"
        )


def _header(kid: str, prefix: bytes, chunk: int) -> bytes:
    raw = kid.encode("ascii")
    return MAGIC + bytes([len(raw)]) + raw + prefix + struct.pack(">I", chunk)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 2**32:
        raise SealBroken("a sealed file has more than 2**32 chunks")
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


def _read_full(f: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        part = f.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def seal_stream(
    chunks: Iterable[bytes], keyring: Keyring, *, chunk_size: int = CHUNK
) -> Iterator[bytes]:
    """The sealed form of the plaintext read from ``chunks`` (any sizes), piece by piece."""
    prefix = secrets.token_bytes(_PREFIX)
    header = _header(keyring.current_id, prefix, chunk_size)
    aead = AESGCM(keyring.current)
    yield header
    counter, pending = 0, bytearray()
    for piece in chunks:
        pending += piece
        # keep at least one byte back so the final chunk is known to be final
        while len(pending) > chunk_size:
            block = bytes(pending[:chunk_size])
            del pending[:chunk_size]
            yield aead.encrypt(_nonce(prefix, counter, False), block, header)
            counter += 1
    yield aead.encrypt(_nonce(prefix, counter, True), bytes(pending), header)


@dataclass(frozen=True)
class Header:
    key_id: str
    prefix: bytes
    chunk_size: int
    raw: bytes


def read_header(f: BinaryIO, name: str) -> Header:
    head = _read_full(f, len(MAGIC) + 1)
    if len(head) < len(MAGIC) + 1 or head[: len(MAGIC)] != MAGIC:
        raise SealBroken(f"{name} is not a sealed archive file (no {MAGIC.decode()} header)")
    n = head[-1]
    rest = _read_full(f, n + _PREFIX + 4)
    if len(rest) < n + _PREFIX + 4:
        raise SealBroken(f"{name}: the sealed file's header is cut short")
    try:
        kid = rest[:n].decode("ascii")
    except UnicodeDecodeError:
        raise SealBroken(f"{name}: the sealed file's key id is not ASCII") from None
    (chunk,) = struct.unpack(">I", rest[n + _PREFIX :])
    if not 1 <= chunk <= 64 * CHUNK:
        raise SealBroken(f"{name}: the sealed file's chunk size {chunk} is not allowed")
    return Header(kid, rest[n : n + _PREFIX], chunk, head + rest)


def open_stream(f: BinaryIO, keyring: Keyring, name: str) -> Iterator[bytes]:
    """The plaintext of the sealed file open as ``f``, chunk by chunk, each one authenticated
    before it is yielded; :class:`SealBroken` (after the good chunks) if the file was damaged."""
    header = read_header(f, name)
    aead = AESGCM(keyring.key(header.key_id))
    block = header.chunk_size + TAG
    counter = 0
    current = _read_full(f, block)
    while True:
        following = _read_full(f, block) if len(current) == block else b""
        last = not following
        try:
            yield aead.decrypt(_nonce(header.prefix, counter, last), current, header.raw)
        except InvalidTag:
            raise SealBroken(
                f"{name} does not decrypt at chunk {counter}: it was damaged, cut short or "
                "edited (or sealed under another key with the same id)"
            ) from None
        if last:
            return
        current, counter = following, counter + 1


def file_key_id(path: Path) -> str | None:
    """The key id of a sealed file, or None when ``path`` is not one."""
    if not path.name.endswith(SEALED_SUFFIX):
        return None
    try:
        with path.open("rb") as f:
            return read_header(f, path.name).key_id
    except (SealBroken, OSError):
        return None


def seal_file(source: Path, target: Path, keyring: Keyring) -> str:
    """Write ``source`` sealed to ``target`` (a hidden temporary file, fsynced, renamed, then the
    directory fsynced); return the plaintext's SHA-256. ``source`` is left in place. A sealed
    ``source`` is opened with its own key and re-sealed under the current one."""
    digest = hashlib.sha256()
    tmp = target.with_name(f".{target.name}.tmp")
    with source.open("rb") as src:
        if file_key_id(source) is not None:
            plain: Iterable[bytes] = open_stream(src, keyring, source.name)
        else:
            plain = iter(lambda: src.read(CHUNK), b"")

        def hashed() -> Iterator[bytes]:
            for piece in plain:
                digest.update(piece)
                yield piece

        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=False) as out:
                for piece in seal_stream(hashed(), keyring):
                    out.write(piece)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
    os.replace(tmp, target)
    fsync_dir(target.parent)
    return digest.hexdigest()


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
