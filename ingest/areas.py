"""Member landing areas on disk: the layout the SFTP server and the loader share.

One directory per member under the members root::

    <members_root>/<CODE>/inbox/     the member writes here over SFTP; the loader reads
    <members_root>/<CODE>/outbox/    the loader writes receipts and error files; the member reads
    <members_root>/<CODE>/archive/   the loader keeps processed files; never visible over SFTP

Invariants:

- ``CODE`` matches :data:`exchange.domain.MEMBER_CODE_PATTERN`; any other name is refused before
  a path is built, so a code can never contain ``/`` or ``..``.
- The member's SFTP view is a virtual root holding exactly ``/inbox`` and ``/outbox``; the area
  directory itself, ``archive/`` and anything else in it are invisible.
- The inbox is flat: no sub-directories. Everything a member uploads is a regular file directly in
  ``inbox/``; symbolic links found there are neither followed nor listed.
- The loader claims a file by renaming it out of ``inbox/`` (into ``archive/``) before reading it,
  so a member's later ``rm`` or re-upload of the same name cannot change what is being read.
- The loader writes ``outbox/`` files atomically (write ``.<name>.tmp``, then rename), so a member
  never reads half a receipt; names starting with ``.`` are not listed to members.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from exchange.domain import MEMBER_CODE_PATTERN
from exchange.errors import InvalidInput

INBOX = "inbox"
OUTBOX = "outbox"
ARCHIVE = "archive"
#: Directories a member sees at the root of its SFTP view, in listing order.
VISIBLE_DIRS = (INBOX, OUTBOX)

_CODE = re.compile(MEMBER_CODE_PATTERN)


class InvalidMemberCode(InvalidInput):
    code = "ING001"


def check_member_code(code: str) -> str:
    """Return ``code`` if it is a well-formed member code, else raise :class:`InvalidMemberCode`."""
    if not _CODE.fullmatch(code):
        raise InvalidMemberCode(
            f"member code {code!r} is not allowed: use 3-12 capitals and digits, "
            f"starting with a capital (pattern {MEMBER_CODE_PATTERN})"
        )
    return code


@dataclass(frozen=True)
class MemberArea:
    """The directories of one member's landing area."""

    code: str
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / INBOX

    @property
    def outbox(self) -> Path:
        return self.root / OUTBOX

    @property
    def archive(self) -> Path:
        return self.root / ARCHIVE

    def receipt_path(self, base: str) -> Path:
        """Where the loader puts the receipt of the data file ``<base>.csv[.gz]``."""
        return self.outbox / f"{base}.receipt.json"

    def errors_path(self, base: str) -> Path:
        return self.outbox / f"{base}.errors.csv"


def member_area(members_root: Path, code: str) -> MemberArea:
    """The area of member ``code`` (not created)."""
    return MemberArea(check_member_code(code), Path(members_root).absolute() / code)


def ensure_area(members_root: Path, code: str) -> MemberArea:
    """Create the member's area (mode 0750 directories) if missing and return it.

    Refuses an area whose directories are symbolic links or not directories, so nothing planted on
    disk can redirect a member's inbox elsewhere.
    """
    area = member_area(members_root, code)
    area.root.parent.mkdir(parents=True, exist_ok=True)
    for path in (area.root, area.inbox, area.outbox, area.archive):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o750)
        if path.is_symlink() or not path.is_dir():
            raise InvalidInput(
                f"member area {path} must be a real directory (found a symbolic link or a file); "
                "remove it so the exchange can recreate it"
            )
    return area


def base_name(file_name: str) -> str:
    """A data file's base: its name without ``.csv``/``.csv.gz``.

    ``ABC_20240131_001.loans.csv.gz`` → ``ABC_20240131_001.loans``, whose control file is
    ``<base>.ctl`` and whose receipt and errors are ``<base>.receipt.json``, ``<base>.errors.csv``
    (the kind stays in the base, so a loans file and a batch file of the same day and sequence
    never share a control file).
    """
    for suffix in (".csv.gz", ".csv"):
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name
