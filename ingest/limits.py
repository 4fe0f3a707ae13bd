"""The bounds a member's data file must stay within, checked as the file streams by.

Before anything parses a data file, the loader reads it once in fixed-size chunks
(:func:`scan`): the SHA-256 of the bytes as received (for the ledger), and — decompressing a
``.gz`` chunk by chunk — the size of the content, the longest line and the number of lines. The
first bound crossed stops the reading of the content and becomes the file's coded rejection:

* F116 ``FILE_TOO_LARGE`` — more than ``max_file_bytes`` of content (decompressed);
* F118 ``LINE_TOO_LONG`` — a line longer than ``max_line_bytes`` (a record is a few hundred bytes;
  a gzip bomb of zeros is one endless line);
* F119 ``TOO_MANY_RECORDS`` — more than ``max_records`` lines after the header.

Invariants:

* Memory is bounded whatever the file: one raw chunk (1 MiB) and one decompressed chunk (at most
  4 MiB) at a time; a bomb is stopped within ``max_line_bytes`` (or ``max_file_bytes``) of
  content, never expanded whole.
* The SHA-256 covers every byte received, also after a bound stopped the content scan (the
  ledger's duplicate check needs it).
* A file that is not valid gzip is not judged here: the scan stops quietly and the validator
  reports F109 with the reason.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.parse import FileIssue

CHUNK = 1 << 20
_OUT = 4 << 20


@dataclass(frozen=True)
class Limits:
    """What one data file may hold ([ingest] settings; docs/ingest.md "Limits")."""

    max_file_bytes: int = (2 << 30) - 1
    max_line_bytes: int = 1 << 16
    max_records: int = 5_000_000
    max_control_bytes: int = 1 << 16


@dataclass(frozen=True)
class Scan:
    sha256: str
    size: int  # bytes as received
    content_bytes: int  # bytes of content read (decompressed), up to the first bound crossed
    lines: int
    issue: FileIssue | None  # the first bound crossed


class _Content:
    """Running line and size counts over the content, in order."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.size = 0
        self.newlines = 0
        self.line = 0  # bytes of the current line so far
        self.trailing = True  # the content so far ends with a line break (or is empty)
        self.issue: FileIssue | None = None

    def feed(self, block: bytes) -> bool:
        """Count ``block``; False once a bound is crossed (``issue`` says which)."""
        lim = self.limits
        self.size += len(block)
        if self.size > lim.max_file_bytes:
            self.issue = FileIssue(
                "F116",
                value=f"more than {lim.max_file_bytes}",
                params={"limit": lim.max_file_bytes},
            )
            return False
        if not block:
            return True
        before = self.newlines  # line breaks before this block: the current line is before + 1
        breaks = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        if breaks.size == 0:
            lengths = np.array([self.line + len(block)])
            self.line = int(lengths[0])
        else:
            # segment k ends at breaks[k]: line before + 1 + k; the tail starts a new line
            starts = np.concatenate(([0], breaks[:-1] + 1))
            lengths = breaks - starts
            lengths[0] += self.line
            self.line = len(block) - int(breaks[-1]) - 1
            self.newlines += int(breaks.size)
            lengths = np.append(lengths, self.line)
        self.trailing = block.endswith(b"\n")
        over = np.flatnonzero(lengths > lim.max_line_bytes)
        if over.size:
            line = before + 1 + int(over[0])
            self.issue = FileIssue(
                "F118",
                value=f"more than {lim.max_line_bytes}",
                line=line,
                params={"limit": lim.max_line_bytes, "line": line},
            )
            return False
        if self.newlines - 1 > lim.max_records:  # lines after the header
            self.issue = FileIssue(
                "F119", value=f"more than {lim.max_records}", params={"limit": lim.max_records}
            )
            return False
        return True

    @property
    def lines(self) -> int:
        return self.newlines + (0 if self.trailing else 1)


def scan(path: Path, *, compressed: bool, limits: Limits) -> Scan:
    """Hash ``path`` and check its content against ``limits`` (see the module doc)."""
    digest = hashlib.sha256()
    content = _Content(limits)
    inflate: zlib._Decompress | None = zlib.decompressobj(wbits=31) if compressed else None
    reading = True  # still judging the content
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
            if not reading:
                continue
            if inflate is None:
                reading = content.feed(chunk)
                continue
            pending = chunk
            try:
                while reading and pending:
                    block = inflate.decompress(pending, _OUT)
                    reading = content.feed(block)
                    pending = inflate.unconsumed_tail
                    if inflate.eof:  # a gzip file may hold several members back to back
                        pending = inflate.unused_data
                        if not pending.strip(b"\0"):
                            break
                        inflate = zlib.decompressobj(wbits=31)
            except zlib.error:
                reading = False  # not gzip: the validator says why (F109)
    return Scan(digest.hexdigest(), size, content.size, content.lines, content.issue)
