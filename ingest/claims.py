"""A member's submissions on disk: found in ``inbox/``, claimed into ``processing/<base>/``,
answered in ``outbox/`` and kept in ``archive/YYYY/MM/<base>/`` (layout: :mod:`ingest.areas`).

Invariants:

* Only a control file starts a submission: ``<base>.ctl`` directly in ``inbox/``, not hidden
  (``.name``) and not a temporary upload (``*.tmp``). A data file without its control file is
  never read, moved or deleted. A submission of another kind (:mod:`ingest.landing`: a batch
  lookup) belongs to its stage and is left alone.
* Claiming is a rename of the control file, then of its data file, into ``processing/<base>/``
  (same filesystem: each rename is atomic). A crash between the two leaves the data file in
  ``inbox/``; :func:`complete` fetches it when the claim is resumed. What is in ``processing/``
  is never visible to the member and is resumed at start-up.
* The data file of a submission is the one its control file names (``"file"``) if that file has
  the same base; otherwise the ``.loans.csv[.gz]`` of the base, otherwise any other file of the
  base. Others of the same base stay in ``inbox/``.
* Files for the member are written atomically — a hidden ``.<name>.tmp`` in the same directory,
  flushed and fsynced, then renamed — so a member never reads half a receipt.
* A claim counts its failed attempts (``.attempts.json``, written *before* each attempt so a
  crash counts too); the loader answers a claim that failed ``max_attempts`` times with a
  rejected receipt (F121), unless the load had begun writing rows (``.writes``): those attempts
  are replays and go on. Hidden notes are removed when the claim is archived.
* Archiving renames ``processing/<base>`` to ``archive/YYYY/MM/<base>`` (``<base>.<load id>``
  when that month already holds the base), after :func:`ingest.archive.archive_claim` has sealed
  the data file there as ``<name>.enc``. Names ending in ``.enc`` are reserved for sealed files:
  such a file in ``inbox/`` is never claimed (like ``*.tmp``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from ingest.areas import (
    ERRORS_SUFFIX,
    MemberArea,
    base_name,
    check_member_code,
    errors_name,
    receipt_name,
)
from ingest.errors import InvalidMemberCode as BadCode
from ingest.errors import LoaderBusy
from ingest.landing import Kind, kind_of, named_file
from ingest.sealed import SEALED_SUFFIX

CONTROL_SUFFIX = ".ctl"
#: Held (flock) by the loader that serves the members root.
LOCK_FILE = ".loader.lock"
TEMP_SUFFIX = ".tmp"
#: The claim's note of its ledger entry (load id), written once the ledger has it.
LEDGER_NOTE = ".ledger.json"
#: The claim's count of failed attempts and the last reason (:func:`attempts`).
ATTEMPTS_NOTE = ".attempts.json"
#: Present once the load began writing rows (then a failed attempt is replayed, never given up).
WRITES_NOTE = ".writes"


def is_control(name: str) -> bool:
    return name.endswith(CONTROL_SUFFIX) and not name.startswith(".")


def _is_candidate(name: str, base: str) -> bool:
    return (
        not name.startswith(".")
        and not name.endswith((TEMP_SUFFIX, CONTROL_SUFFIX, SEALED_SUFFIX))
        and base_name(name) == base
    )


@dataclass(frozen=True)
class Claim:
    """One claimed submission: the directory ``processing/<base>/`` of a member's area."""

    member: str
    base: str
    path: Path

    @property
    def control(self) -> Path | None:
        found = sorted(p for p in self.path.iterdir() if is_control(p.name))
        return found[0] if found else None

    @property
    def data(self) -> Path | None:
        control = self.control
        return choose_data(self.path, self.base, control.read_bytes() if control else None)

    @property
    def receipt(self) -> Path:
        return self.path / receipt_name(self.base)

    @property
    def errors(self) -> Path:
        return self.path / errors_name(self.base)

    @property
    def ledger_note(self) -> Path:
        return self.path / LEDGER_NOTE

    @property
    def notes(self) -> tuple[Path, ...]:
        return tuple(self.path / n for n in (LEDGER_NOTE, ATTEMPTS_NOTE, WRITES_NOTE))


def choose_data(directory: Path, base: str, control: bytes | None) -> Path | None:
    """The data file of ``base`` in ``directory`` (see the module doc), or None."""
    candidates = sorted(
        p for p in directory.iterdir() if p.is_file() and _is_candidate(p.name, base)
    )
    if not candidates:
        return None
    named = named_file(control)
    for path in candidates:
        if path.name == named:
            return path
    loans = [p for p in candidates if p.name.endswith((".loans.csv", ".loans.csv.gz"))]
    return (loans or candidates)[0]


def controls(area: MemberArea, kind: Kind = Kind.LOANS) -> list[Path]:
    """Control files of ``kind`` submissions waiting in ``inbox/``, in name order (a member's
    files load in this order); :func:`ingest.landing.kind_of` tells the kinds apart."""
    try:
        found = sorted(p for p in area.inbox.iterdir() if is_control(p.name) and p.is_file())
    except FileNotFoundError:
        return []
    return [path for path in found if kind_of(area.inbox, path)[0] is kind]


def waited(path: Path, now: datetime) -> float:
    """Seconds ``path`` has been where it is at ``now``: since its inode change time, which an
    upload and a rename into place set and an SFTP client cannot (unlike the modification time,
    which ``put -p`` or WinSCP preserve). A time after ``now`` (clock skew) counts as 0; a file
    gone meanwhile too."""
    try:
        changed = path.stat().st_ctime
    except FileNotFoundError:
        return 0.0
    return max(0.0, now.timestamp() - changed)


def data_waiting(area: MemberArea, control: Path) -> Path | None:
    """The data file in ``inbox/`` that ``control`` would claim, if it has arrived."""
    try:
        return choose_data(area.inbox, base_name(control.name), control.read_bytes())
    except FileNotFoundError:
        return None


def claim(area: MemberArea, control: Path) -> Claim:
    """Move ``control`` and its data file (if there) into ``processing/<base>/``."""
    base = base_name(control.name)
    target = area.processing / base
    target.mkdir(parents=True, exist_ok=True)
    os.rename(control, target / control.name)
    found = Claim(area.code, base, target)
    complete(area, found)
    return found


def complete(area: MemberArea, found: Claim) -> None:
    """Fetch the data file from ``inbox/`` into a claim that has none yet (after a crash)."""
    if found.data is not None:
        return
    control = found.control
    data = choose_data(area.inbox, found.base, control.read_bytes() if control else None)
    if data is not None:
        os.rename(data, found.path / data.name)


def open_claims(area: MemberArea) -> list[Claim]:
    """Claims in ``processing/`` (interrupted loads to resume), in base order."""
    try:
        dirs = sorted(p for p in area.processing.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []
    return [Claim(area.code, d.name, d) for d in dirs]


def release(area: MemberArea, found: Claim) -> None:
    """Undo a claim that has no control file (only possible if one was removed by hand): its
    files go back to ``inbox/`` and the directory is removed."""
    for path in found.path.iterdir():
        if not path.name.startswith("."):
            os.rename(path, area.inbox / path.name)
        else:
            path.unlink()
    found.path.rmdir()


def read_bounded(path: Path, limit: int) -> tuple[bytes, int]:
    """At most ``limit`` bytes of ``path`` and its size (a control file is small; a huge one is
    refused without being read)."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        return f.read(limit), size


def attempts(found: Claim) -> tuple[int, str]:
    """Failed attempts at this claim so far and the last reason (0 and "" at first)."""
    try:
        doc = json.loads((found.path / ATTEMPTS_NOTE).read_bytes())
        return int(doc["attempts"]), str(doc["reason"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return 0, ""


def note_attempts(found: Claim, count: int, reason: str) -> None:
    """Record ``count`` attempts; written before an attempt, so a crash in it counts too."""
    doc = {"attempts": count, "reason": reason}
    write_atomic(found.path / ATTEMPTS_NOTE, json.dumps(doc).encode())


def note_writes(found: Claim) -> None:
    """Mark that the load began writing warehouse rows (:func:`writes_began`)."""
    if not (found.path / WRITES_NOTE).exists():
        write_atomic(found.path / WRITES_NOTE, b"")


def writes_began(found: Claim) -> bool:
    return (found.path / WRITES_NOTE).exists()


def write_atomic(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one; ``data`` is
    the bytes, or a function that writes them to the file it is given (a big errors file is
    streamed, never held whole)."""
    tmp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
    with os.fdopen(fd, "wb") as out:
        if callable(data):
            data(out)
        else:
            out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _copy_from(source: Path) -> Callable[[BinaryIO], object]:
    def copy(out: BinaryIO) -> None:
        with source.open("rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)

    return copy


def publish(area: MemberArea, found: Claim) -> None:
    """Copy the claim's errors file, then its receipt, into ``outbox/`` (receipt last: its
    appearance tells the member the answer is complete), under the names the receipt chose
    (its ``errors_file``: ``<base>`` or ``<base>.resend-NNN``, :func:`ingest.areas.answer_tag`)."""
    tag = found.base
    if found.receipt.exists():
        named = json.loads(found.receipt.read_bytes()).get("errors_file")
        if isinstance(named, str) and named.endswith(ERRORS_SUFFIX):
            tag = named[: -len(ERRORS_SUFFIX)]
    for source, name in ((found.errors, errors_name(tag)), (found.receipt, receipt_name(tag))):
        if source.exists():
            write_atomic(area.outbox / name, _copy_from(source))


def archive(area: MemberArea, found: Claim, day: date, load_id: str) -> Path:
    """Move the claim to ``archive/YYYY/MM/<base>`` (``<base>.<load id>`` if taken); return it."""
    month = area.archive / f"{day:%Y}" / f"{day:%m}"
    month.mkdir(parents=True, exist_ok=True)
    target, n = month / found.base, 1
    while target.exists():
        target = month / (f"{found.base}.{load_id}" + (f".{n}" if n > 1 else ""))
        n += 1
    for note in found.notes:
        with contextlib.suppress(FileNotFoundError):
            note.unlink()
    os.rename(found.path, target)
    return target


def members(root: Path) -> list[str]:
    """Member codes with an area under ``root`` (directories named like a member code)."""
    try:
        names = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        with contextlib.suppress(BadCode):
            out.append(check_member_code(name))
    return out


def hold_areas(root: Path) -> int:
    """Lock the members root for this loader (an flock, released when the process ends or the
    descriptor is closed); :class:`LoaderBusy` names the process holding it."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise LoaderBusy(
            f"another loader (pid {holder}) serves the member areas under {root}; one loader at "
            "a time: stop it (jdx serve or jdx ingest process) and try again"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
