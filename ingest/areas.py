"""Member landing areas on disk: the layout the SFTP server and the loader share.

One directory per member under the members root::

    <members_root>/<CODE>/inbox/            the member writes here over SFTP
    <members_root>/<CODE>/outbox/           the loader writes receipts and errors; the member reads
    <members_root>/<CODE>/processing/<base> a submission the loader has claimed (private)
    <members_root>/<CODE>/archive/YYYY/MM/<base>  answered submissions and receipts (private)

Invariants:

- ``CODE`` matches :data:`exchange.domain.MEMBER_CODE_PATTERN`; any other name is refused before
  a path is built, so a code can never contain ``/`` or ``..``.
- The member's SFTP view is a virtual root holding exactly ``/inbox`` and ``/outbox``; the area
  directory itself, ``archive/`` and anything else in it are invisible.
- The inbox is flat: no sub-directories. Everything a member uploads is a regular file directly in
  ``inbox/``; symbolic links found there are neither followed nor listed.
- The loader claims a submission by renaming its control and data file out of ``inbox/`` into
  ``processing/<base>/`` before reading them, so a member's later ``rm`` or re-upload of the same
  name cannot change what is being read; after the receipt it seals the data file there and moves
  that directory to ``archive/YYYY/MM/<base>/``. Data files leave the archive only by the audited
  archive pass after ``archive_days`` (:mod:`ingest.archive`): nothing is deleted silently.
- A submission's files share one *base*, :func:`base_name`: the name up to its first dot, i.e.
  ``<MEMBER>_<YYYYMMDD>_<SEQ>`` for ``<base>.loans.csv[.gz]``, ``<base>.ctl``,
  ``<base>.receipt.json`` and ``<base>.errors.csv`` (the same base as
  :attr:`ingest.parse.FileName.base`).
- Receipts and errors files in ``outbox/`` are never overwritten: a later upload under a base
  already answered (a duplicate, a corrected file) is answered as ``<base>.resend-NNN.*``
  (:func:`answer_tag`), which sorts after the original.
- ``outbox/<CODE>_<YYYYMMDD>.dq.json`` is the member's data-quality report of that day (China
  Standard Time), rewritten after each round of its files (:func:`dq_file_name`).
- The loader writes ``outbox/`` files atomically (write ``.<name>.tmp``, then rename), so a member
  never reads half a receipt; names starting with ``.`` are not listed to members.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from exchange.domain import MEMBER_CODE_PATTERN
from exchange.errors import InvalidInput
from ingest.errors import InvalidMemberCode

INBOX = "inbox"
OUTBOX = "outbox"
PROCESSING = "processing"
ARCHIVE = "archive"
#: Directories a member sees at the root of its SFTP view, in listing order.
VISIBLE_DIRS = (INBOX, OUTBOX)

_CODE = re.compile(MEMBER_CODE_PATTERN)


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
    def processing(self) -> Path:
        return self.root / PROCESSING

    @property
    def archive(self) -> Path:
        return self.root / ARCHIVE

    def receipt_path(self, base: str) -> Path:
        """Where the loader puts the receipt of the submission ``<base>``."""
        return self.outbox / receipt_name(base)

    def errors_path(self, base: str) -> Path:
        return self.outbox / errors_name(base)


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
    for path in (area.root, area.inbox, area.outbox, area.processing, area.archive):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o750)
        if path.is_symlink() or not path.is_dir():
            raise InvalidInput(
                f"member area {path} must be a real directory (found a symbolic link or a file); "
                "remove it so the exchange can recreate it"
            )
    return area


def base_name(file_name: str) -> str:
    """The base a member's file shares with the rest of its submission: the name up to its first
    dot.

    ``ABC_20240131_001.loans.csv.gz`` and ``ABC_20240131_001.ctl`` → ``ABC_20240131_001``, whose
    receipt and errors are ``<base>.receipt.json`` and ``<base>.errors.csv``. For a well-named data
    file this is :attr:`ingest.parse.FileName.base`. This is the one function that names bases:
    the loader, the member tool (``jdx submit``) and the receipts all use it.
    """
    return file_name.split(".", 1)[0]


RECEIPT_SUFFIX = ".receipt.json"
ERRORS_SUFFIX = ".errors.csv"
#: Tag of a later answer for a base already answered: ``<base>.resend-001.receipt.json`` …
RESEND = ".resend-"


def receipt_name(tag: str) -> str:
    return f"{tag}{RECEIPT_SUFFIX}"


def errors_name(tag: str) -> str:
    return f"{tag}{ERRORS_SUFFIX}"


def dq_file_name(code: str, day: date) -> str:
    """The member's daily data-quality report in ``outbox/``: ``<MEMBER>_<YYYYMMDD>.dq.json``."""
    return f"{code}_{day:%Y%m%d}.dq.json"


def answer_tag(outbox: Path, base: str) -> str:
    """The name stem of a new answer (receipt and errors file) for submission ``base``.

    ``base`` itself unless ``outbox/`` holds a receipt of that base already (an earlier upload of
    the same name: a duplicate or a corrected file); then ``<base>.resend-NNN`` with the first
    free NNN. Answers are never overwritten, and a later answer's names sort after the original's
    and after earlier resends (``.resend-`` sorts after ``.receipt``/``.errors``).
    """
    tag, n = base, 0
    while (outbox / receipt_name(tag)).exists():
        n += 1
        tag = f"{base}{RESEND}{n:03d}"
    return tag


def is_receipt_of(name: str, base: str) -> bool:
    """Whether outbox file ``name`` is a receipt of submission ``base`` (original or resend)."""
    return name == receipt_name(base) or (
        name.startswith(f"{base}{RESEND}") and name.endswith(RECEIPT_SUFFIX)
    )
