"""The archive of answered submissions: sealed at rest, kept ``archive_days``, purged on record.

Layout (:mod:`ingest.areas`): ``<members_root>/<CODE>/archive/YYYY/MM/<dir>/`` per submission,
``<dir>`` being its base (``<base>.<load id>`` when the month already held the base), with

* ``<base>.ctl``, ``<base>.receipt.json``, ``<base>.errors.csv`` — plain: the control file holds
  no record content and the errors file masks identity values;
* the member's data file, **sealed**: ``<data file name>.enc`` (:mod:`ingest.sealed`), because it
  holds raw ID numbers, names and mobiles.

Invariants:

* No raw data file stays in the archive. The loader seals the data file inside
  ``processing/<base>/`` before the claim is renamed into the archive (:func:`seal_dir`), so a
  crash leaves either the plain file (sealed again at the replay) or the sealed one.
* Every deletion of something a member sent is recorded in the audit chain *before* the file is
  removed (``ingest.archive.purge``), so nothing is deleted silently; a crash between the two
  leaves the file, which the next pass deletes with a second entry.
* :func:`purge` (``jdx ingest purge-archive``, and the loader service once a day) deletes the
  data files of submissions received ``archive_days`` or more before ``now``; it also seals the
  plain data files archives of older versions hold and re-seals files under a previous key with
  the current one (``ingest.archive.seal``). Control files, receipts and errors files stay.
* Opening a sealed file (:func:`open_archived`, ``jdx ingest archive open``) writes the plaintext
  (mode 0600) only after it was wholly authenticated and the act recorded
  (``ingest.archive.open``).
* One pass at a time per members root (an ``flock`` on ``<members_root>/.archive.lock``).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exchange import audit
from exchange.errors import InvalidInput
from exchange.registry import db as registry_db
from ingest import claims
from ingest.areas import MemberArea, base_name, errors_name, member_area, receipt_name
from ingest.errors import ArchiveBusy, ArchivedAmbiguous, ArchivedNotFound
from ingest.sealed import (
    SEALED_SUFFIX,
    Keyring,
    file_key_id,
    fsync_dir,
    open_stream,
    seal_file,
)

log = logging.getLogger("jdx.ingest.archive")

LOCK_FILE = ".archive.lock"
ACTOR = "archive"


def is_data_file(path: Path, base: str) -> bool:
    """Whether ``path`` in a claim or archive directory of ``base`` is (a form of) the member's
    data file: anything but the control file, the exchange's answers and hidden files."""
    name = path.name
    return (
        not name.startswith(".")
        and not claims.is_control(name)
        and name not in (receipt_name(base), errors_name(base))
        and path.is_file()
        and not path.is_symlink()
    )


def data_files(directory: Path) -> list[Path]:
    base = base_name(directory.name)
    return sorted(p for p in directory.iterdir() if is_data_file(p, base))


def plain_files(directory: Path) -> list[Path]:
    """Data files of ``directory`` not sealed yet."""
    return [p for p in data_files(directory) if file_key_id(p) is None]


def seal_dir(directory: Path, keyring: Keyring) -> list[tuple[Path, str]]:
    """Seal every plain data file of ``directory`` as ``<name>.enc`` and remove the plain one
    (safe to repeat after a crash); return the sealed files with their plaintext SHA-256."""
    done = []
    for plain in plain_files(directory):
        target = plain.with_name(plain.name + SEALED_SUFFIX)
        digest = seal_file(plain, target, keyring)
        plain.unlink()
        done.append((target, digest))
    if done:
        fsync_dir(directory)
    return done


def archive_claim(
    area: MemberArea, found: claims.Claim, day: dt.date, load_id: str, keyring: Keyring
) -> Path:
    """The loader's last step: seal the claim's data file, then move the claim into
    ``archive/YYYY/MM/`` (:func:`ingest.claims.archive`); return where it went."""
    seal_dir(found.path, keyring)
    return claims.archive(area, found, day, load_id)


# -- what the archive holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Archived:
    """One archived submission."""

    member: str
    path: Path
    received_at: dt.datetime
    receipt: dict[str, Any] = field(repr=False)

    @property
    def base(self) -> str:
        return base_name(self.path.name)

    @property
    def where(self) -> str:
        """``YYYY/MM/<dir>``: the submission's place in the member's archive."""
        return "/".join(self.path.parts[-3:])

    @property
    def data(self) -> list[Path]:
        return data_files(self.path)


def _received_at(path: Path, receipt: dict[str, Any]) -> dt.datetime:
    text = receipt.get("received_at")
    if isinstance(text, str):
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)
        except ValueError:
            pass
    times = [p.stat().st_mtime for p in path.iterdir() if p.is_file()] or [path.stat().st_mtime]
    return dt.datetime.fromtimestamp(min(times), dt.UTC)


def archived(area: MemberArea) -> Iterator[Archived]:
    """The member's archived submissions, oldest month first."""
    try:
        years = sorted(p for p in area.archive.iterdir() if p.is_dir() and p.name.isdigit())
    except FileNotFoundError:
        return
    for year in years:
        for month in sorted(p for p in year.iterdir() if p.is_dir() and p.name.isdigit()):
            for directory in sorted(p for p in month.iterdir() if p.is_dir()):
                receipt: dict[str, Any] = {}
                path = directory / receipt_name(base_name(directory.name))
                try:
                    loaded = json.loads(path.read_bytes())
                    receipt = loaded if isinstance(loaded, dict) else {}
                except (FileNotFoundError, ValueError):
                    pass
                yield Archived(area.code, directory, _received_at(directory, receipt), receipt)


def find(members_root: Path, member: str, name: str) -> Archived:
    """The archived submission ``name`` of ``member``: a base, a directory name
    (``<base>.<load id>``) or ``YYYY/MM/<dir>``."""
    items = list(archived(member_area(members_root, member)))
    if "/" in name:
        found = [a for a in items if a.where == name]
    elif "." in name:
        found = [a for a in items if a.path.name == name]
    else:
        found = [a for a in items if a.base == name]
    if not found:
        raise ArchivedNotFound(
            f"member {member} has no archived submission {name!r}; give a base such as "
            f"{member}_20250131_001 (the receipt's file name up to its first dot)"
        )
    if len(found) > 1:
        raise ArchivedAmbiguous(
            f"member {member} has {len(found)} archived submissions of {name}: "
            + ", ".join(f"{a.where} (load {a.receipt.get('load_id', '?')})" for a in found)
            + "; give one of these YYYY/MM/<dir> names instead"
        )
    return found[0]


# -- purge and migrate --------------------------------------------------------------------------


@dataclass
class Action:
    """One thing a pass did (or, dry, would do) to one file."""

    kind: str  # "purge", "seal" (a plain file of an older version), "reseal" (previous key)
    member: str
    where: str
    file: str
    bytes: int


@dataclass
class PassReport:
    actions: list[Action] = field(default_factory=list)
    kept: int = 0  # data files within their retention, already sealed under the current key

    def count(self, kind: str) -> int:
        return sum(1 for a in self.actions if a.kind == kind)


@contextmanager
def _held(members_root: Path) -> Iterator[None]:
    members_root.mkdir(parents=True, exist_ok=True)
    fd = os.open(members_root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveBusy(
                "another archive pass (jdx ingest purge-archive, or the loader service's daily "
                "pass) is running on these member areas; try again when it has finished"
            ) from None
        yield
    finally:
        os.close(fd)


def _record(
    registry_url: str, actor: str, action: str, item: Archived, details: dict[str, Any]
) -> None:
    with registry_db.session(registry_url) as db:
        audit.append(
            db,
            actor=actor,
            action=action,
            obj=f"archive:{item.member}/{item.where}",
            details={
                "member": item.member,
                "archived": item.where,
                "load_id": item.receipt.get("load_id"),
                "sha256": item.receipt.get("sha256"),
                "received_at": item.received_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                **details,
            },
        )


def run_pass(
    members_root: Path,
    keyring: Keyring,
    *,
    registry_url: str,
    archive_days: int,
    now: dt.datetime,
    dry_run: bool = False,
    actor: str = ACTOR,
    members: list[str] | None = None,
) -> PassReport:
    """Purge data files received ``archive_days`` or more before ``now``; seal plain ones and
    re-seal those under a previous key (see the module doc). ``dry_run`` changes nothing and
    records nothing: the report says what would be done."""
    report = PassReport()
    cutoff = now - dt.timedelta(days=archive_days)
    with _held(members_root):
        for member in members if members is not None else claims.members(members_root):
            for item in archived(member_area(members_root, member)):
                expired = item.received_at <= cutoff
                for path in item.data:
                    size = path.stat().st_size
                    kid = file_key_id(path)
                    if expired:
                        kind = "purge"
                    elif kid is None:
                        kind = "seal"
                    elif kid != keyring.current_id:
                        kind = "reseal"
                    else:
                        report.kept += 1
                        continue
                    report.actions.append(Action(kind, member, item.where, path.name, size))
                    if dry_run:
                        continue
                    if kind == "purge":
                        _record(
                            registry_url,
                            actor,
                            "ingest.archive.purge",
                            item,
                            {
                                "file": path.name,
                                "bytes": size,
                                "key_id": kid,
                                "archive_days": archive_days,
                                "age_days": (now - item.received_at).days,
                            },
                        )
                        path.unlink()
                        fsync_dir(path.parent)
                        log.info("archive: purged %s/%s/%s", member, item.where, path.name)
                        continue
                    target = path if kid is not None else path.with_name(path.name + SEALED_SUFFIX)
                    digest = seal_file(path, target, keyring)
                    _record(
                        registry_url,
                        actor,
                        "ingest.archive.seal",
                        item,
                        {
                            "file": target.name,
                            "from": "plain" if kid is None else f"key {kid}",
                            "key_id": keyring.current_id,
                            "plain_sha256": digest,
                        },
                    )
                    if target != path:
                        path.unlink()
                        fsync_dir(path.parent)
                    log.info("archive: %s %s/%s/%s", kind, member, item.where, target.name)
    return report


# -- opening one file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    archived: Archived
    file: str
    out: Path
    bytes: int
    sha256: str

    @property
    def matches_receipt(self) -> bool:
        return self.sha256 == self.archived.receipt.get("sha256")


def open_archived(
    members_root: Path,
    member: str,
    name: str,
    out: Path,
    keyring: Keyring,
    *,
    registry_url: str,
    actor: str,
    reason: str = "",
    say: Callable[[str], None] | None = None,
) -> Opened:
    """Write the data file of archived submission ``name`` to ``out`` (new file, mode 0600),
    decrypted and authenticated, and record the act in the audit chain."""
    import hashlib

    item = find(members_root, member, name)
    files = item.data
    if not files:
        raise ArchivedNotFound(
            f"{member} {item.where} holds no data file any more (purged after archive_days, "
            "see the audit chain's ingest.archive.purge entries) or never had one (a control "
            "file whose data file did not arrive)"
        )
    source = files[0]
    if out.exists():
        raise InvalidInput(f"{out} exists already; give a new file name for --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    digest, size = hashlib.sha256(), 0
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f, source.open("rb") as src:
            plain = (
                open_stream(src, keyring, source.name)
                if file_key_id(source) is not None
                else iter(lambda: src.read(1024 * 1024), b"")
            )
            for piece in plain:
                digest.update(piece)
                size += len(piece)
                f.write(piece)
            f.flush()
            os.fsync(f.fileno())
        _record(
            registry_url,
            actor,
            "ingest.archive.open",
            item,
            {
                "file": source.name,
                "out": str(out),
                "reason": reason,
                "plain_sha256": digest.hexdigest(),
                "key_id": file_key_id(source),
            },
        )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    opened = Opened(item, source.name, out, size, digest.hexdigest())
    if say is not None and len(files) > 1:
        say(f"note: {item.where} holds {len(files)} data files; opened {source.name}")
    return opened
