"""Output release: snapshot, automatic checks, reviewer's decision, released copies.

:func:`submit` copies the named files of a project's ``outputs/`` (or of a job's outputs) into
``requests/<id>/`` — root's, out of the analysts' reach, so what is checked is what is
released — runs :mod:`sandbox.checks` on the copies and records the request in the registry
(``review`` or ``blocked``; audited with each file's SHA-256). :func:`release` copies the
snapshot of a request in review to ``released/<id>/`` (read-only for the project's group: the
analysts download it from their server), after checking each copy still has the digest
recorded, and records the reviewer's decision; :func:`reject` records a rejection. Files are
opened without following symbolic links; names are plain file names of the folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
from pathlib import Path

from exchange.errors import InvalidInput
from exchange.registry import db as registry_db
from exchange.registry import outputs as registry_outputs
from exchange.registry.outputs import OutputRequestInfo
from exchange.settings import Settings
from sandbox import checks
from sandbox.errors import OutputFileRefused
from sandbox.settings import LabSettings

MAX_FILES = 50


def project_dir(settings: Settings, project_id: int) -> Path:
    root = settings.section(LabSettings).projects_dir
    assert root is not None
    return root / str(int(project_id))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_in(src_dir: Path, name: str, dest: Path, max_bytes: int) -> None:
    """Copy regular file ``src_dir/name`` to ``dest`` without following links."""
    if not name or "/" in name or name.startswith(".") or name != os.path.basename(name):
        raise OutputFileRefused(f"{name!r} is not a file name of outputs/ (no folders, no dots)")
    try:
        fd = os.open(src_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise OutputFileRefused(f"{name} not found in outputs/") from None
    except OSError as e:
        raise OutputFileRefused(
            f"{name} cannot be read ({e.strerror}); links are not followed"
        ) from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OutputFileRefused(f"{name} is not a regular file")
        with dest.open("xb") as out:  # a byte over the limit is enough for the checks
            left = max_bytes + 1
            while left > 0 and (block := f.read(min(left, 1 << 20))):
                out.write(block)
                left -= len(block)
    os.chmod(dest, 0o400)


def submit(
    settings: Settings,
    project_id: int,
    requested_by: str,
    names: list[str],
    *,
    note: str | None = None,
    job_id: int | None = None,
    source: Path | None = None,
) -> OutputRequestInfo:
    """Snapshot ``names`` (from ``outputs/``, or ``source``), check them, record the request."""
    lab = settings.section(LabSettings)
    names = list(dict.fromkeys(n for n in names if not n.endswith(checks.EVIDENCE_SUFFIX)))
    if not names:
        raise InvalidInput("name at least one file of outputs/ to release")
    if len(names) > MAX_FILES:
        raise InvalidInput(f"{len(names)} files in one request; at most {MAX_FILES}")
    pdir = project_dir(settings, project_id)
    src = source or pdir / "outputs"
    requests = pdir / "requests"
    requests.mkdir(mode=0o700, exist_ok=True)
    tmp = requests / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(mode=0o700)
    try:
        files = []
        for name in names:
            _copy_in(src, name, tmp / name, lab.output_max_bytes)
            side = name + checks.EVIDENCE_SUFFIX
            if (src / side).exists():
                _copy_in(src, side, tmp / side, lab.output_max_bytes)
            found = checks.check_file(tmp / name, max_bytes=lab.output_max_bytes)
            files.append({**found.as_dict(), "sha256": sha256_file(tmp / name),
                          "size": (tmp / name).stat().st_size})  # fmt: skip
        with registry_db.session(settings.registry_url) as db:
            info = registry_outputs.record_request(
                db, project_id=project_id, requested_by=requested_by, files=files, note=note,
                job_id=job_id,
            )  # fmt: skip
        os.rename(tmp, requests / str(info.id))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return info


def release(settings: Settings, request_id: int, *, actor: str, reason: str) -> OutputRequestInfo:
    """Copy a reviewed request's files to ``released/<id>/`` and record the release."""
    with registry_db.session(settings.registry_url, readonly=True) as db:
        info = registry_outputs.check_reviewable(db, request_id)
    pdir = project_dir(settings, info.project_id)
    snapshot = pdir / "requests" / str(info.id)
    released = pdir / "released"
    released.mkdir(exist_ok=True)
    gid = released.stat().st_gid
    tmp = released / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(mode=0o700)
    try:
        for f in info.files:
            shutil.copyfile(snapshot / f["name"], tmp / f["name"])
            if sha256_file(tmp / f["name"]) != f["sha256"]:
                raise OutputFileRefused(
                    f"{f['name']} of request {info.id} no longer has the digest recorded when it "
                    "was checked; ask the analyst to submit it again"
                )
            os.chown(tmp / f["name"], 0 if os.geteuid() == 0 else -1, gid)
            os.chmod(tmp / f["name"], 0o440)
        with registry_db.session(settings.registry_url) as db:
            done = registry_outputs.decide(db, info.id, actor=actor, release=True, reason=reason)
        os.chown(tmp, 0 if os.geteuid() == 0 else -1, gid)
        os.chmod(tmp, 0o550)
        os.rename(tmp, released / str(info.id))
    finally:
        if tmp.exists():
            os.chmod(tmp, 0o700)
            shutil.rmtree(tmp, ignore_errors=True)
    return done


def reject(settings: Settings, request_id: int, *, actor: str, reason: str) -> OutputRequestInfo:
    with registry_db.session(settings.registry_url) as db:
        return registry_outputs.decide(db, request_id, actor=actor, release=False, reason=reason)
