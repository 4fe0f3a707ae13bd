"""Closing expired lab projects: their data and work destroyed, their system users removed.

A project's access ends on its end date (:mod:`exchange.registry.projects`); ``[lab]
close_after_days`` later the lab's expiry check closes it (:func:`close_due`), one project at a
time:

1. **Wait for its processes.** While any process runs as the project's users (a notebook server
   not yet stopped, a model-to-data job), the project is left for the next check: nothing is
   destroyed under a running process, and the users cannot be removed while they own one.
2. **Destroy what holds data.** ``data/`` (the de-identified extract), ``work/``, ``outputs/``,
   ``jobs/`` and ``config/`` are deleted. Kept, as the record of what left the lab: ``released/``
   (the released outputs) and ``requests/`` (the snapshots the checks and reviewers saw), made
   root's alone (``root:root``, 0700 folders, 0400 files), so no later account reaches them.
3. **Remove the accounts.** The project's two system users and its group, by exact name
   (:func:`sandbox.isolation.remove_accounts`). A removed uid or gid can be given to a later
   project's user; nothing of this project is left owned by them (step 2).
4. **Record it.** :func:`exchange.registry.projects.close` marks the project ``closed`` and
   appends ``lab.project_close`` with what was destroyed (files and bytes per folder) and what was
   kept, and rejects output requests still in review, in one transaction.

Every step is safe to repeat: a crash between them leaves the project ``expired``, and the next
check does the rest (a folder already destroyed counts as 0 files). Without isolation
(``[lab] isolate = false``) there are no accounts to remove; the rest is the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exchange.registry import db as registry_db
from exchange.registry import projects
from exchange.settings import Settings
from sandbox import isolation
from sandbox.settings import LabSettings

log = logging.getLogger("jdx.lab")

DESTROYED = ("data", "work", "outputs", "jobs", "config")
KEPT = ("released", "requests")


@dataclass(frozen=True)
class Closing:
    """One project's closing: done, or why it waits for the next check."""

    project_id: int
    closed: bool
    waiting: str = ""


def _size(path: Path) -> tuple[int, int]:
    """Files and bytes under ``path`` (links not followed; 0, 0 when it is gone)."""
    files = size = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                st = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            files, size = files + 1, size + st.st_size
    return files, size


def _root_only(path: Path) -> None:
    """``path`` and everything under it owned by root:root, readable by root alone."""
    if not path.exists():
        return
    for root, dirs, names in os.walk(path):
        for name in dirs:
            os.chown(os.path.join(root, name), 0, 0, follow_symlinks=False)
            os.chmod(os.path.join(root, name), 0o700)
        for name in names:
            target = os.path.join(root, name)
            os.chown(target, 0, 0, follow_symlinks=False)
            if not os.path.islink(target):
                os.chmod(target, 0o400)
    os.chown(path, 0, 0)
    os.chmod(path, 0o700)


def _uids(project_id: int) -> list[int]:
    found = []
    for name in (isolation.user_name(project_id), isolation.job_user_name(project_id)):
        try:
            found.append(pwd.getpwnam(name).pw_uid)
        except KeyError:
            continue
    return found


def close_project(settings: Settings, project_id: int, *, actor: str = "lab") -> Closing:
    """Close one expired project (module docstring); safe to repeat."""
    lab = settings.section(LabSettings)
    assert lab.projects_dir is not None
    pdir = lab.projects_dir / str(int(project_id))
    if lab.isolate:
        busy = sorted(pid for uid in _uids(project_id) for pid in isolation.processes_of(uid))
        if busy:
            return Closing(project_id, False, f"processes {busy} still run as its users")
    destroyed: dict[str, Any] = {}
    for name in DESTROYED:
        files, size = _size(pdir / name)
        destroyed[name] = {"files": files, "bytes": size}
        if (pdir / name).exists():
            shutil.rmtree(pdir / name)
    if pdir.exists() and os.geteuid() == 0:
        for name in KEPT:
            _root_only(pdir / name)
        os.chown(pdir, 0, 0)
        os.chmod(pdir, 0o700)
    kept = {name: dict(zip(("files", "bytes"), _size(pdir / name), strict=True)) for name in KEPT}
    if lab.isolate:
        users = {isolation.user_name(project_id), isolation.job_user_name(project_id)}
        left = isolation.remove_accounts(users, {isolation.group_name(project_id)}, wait=0)
        if left:
            return Closing(project_id, False, "; ".join(left))
    with registry_db.session(settings.registry_url) as db:
        projects.close(db, project_id, actor=actor, details={"destroyed": destroyed, "kept": kept})
    log.info("lab project %d closed: its data and work destroyed, its users removed", project_id)
    return Closing(project_id, True)


def close_due(
    settings: Settings, *, actor: str = "lab", today: dt.date | None = None
) -> list[Closing]:
    """Close every expired project whose end date passed more than ``[lab] close_after_days``
    ago (the expiry check records projects expired, and stops their servers, first)."""
    after = settings.section(LabSettings).close_after_days
    with registry_db.session(settings.registry_url, readonly=True) as db:
        due = projects.closable(db, after_days=after, today=today)
    done = []
    for p in due:
        closing = close_project(settings, p.id, actor=actor)
        if not closing.closed:
            log.warning("lab project %d not closed yet: %s", p.id, closing.waiting)
        done.append(closing)
    return done
