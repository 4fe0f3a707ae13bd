"""Per-project isolation of the data laboratory: one system user and group per project.

A project ``<id>`` gets the group ``jdx-lab-p<id>`` and two system users in it (made with
``useradd --system``, idempotently, on approval and before each spawn or job):

- ``jdx-lab-p<id>`` runs the analysts' single-user servers and kernels;
- ``jdx-lab-p<id>-job`` runs the project's model-to-data jobs (:mod:`sandbox.jobs`), so a job's
  working directory (mode 0700, the job user's) stays out of the notebooks' reach until its
  outputs have been checked.

The project directory after :func:`provision`::

    <projects_dir>/            root      0711  (traverse only: no listing of other projects)
      <id>/                    root:grp  0750
        data/                  root:grp  0550  the extract, files 0440 — read-only for the group
        work/, outputs/        user:grp  2770  the analysts' files; outputs/ is what they submit
        released/              root:grp  0550  released outputs, files 0440 (the analysts download)
        config/                root:grp  0550  the servers' only Jupyter config folder: no
                                                config, jupyter_core's "migrated" marker 0440
        requests/              root      0700  snapshots of submitted outputs (staff only)
        jobs/                  root      0711  one directory per job, the job user's, 0700

Other projects' users are in neither group nor owner, so they get "permission denied" on the
whole directory. The exchange's home must be traversable for the path to the projects to work:
:func:`harden_home` makes it 0711 (no listing) and takes every permission of "others" off the
rest of its top level (registry, secrets, warehouse, members' areas, hub state), so a project
user reaches nothing of it. Making users and changing owners needs root (the hub runs as root
here; in production the lab's process needs root or CAP_SETUID/CAP_CHOWN — docs/lab.md).
"""

from __future__ import annotations

import grp
import os
import pwd
import resource
import shutil
import stat
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import InterpreterUnreachable, IsolationUnavailable

PREFIX = "jdx-lab-p"
SHELL = "/usr/sbin/nologin"
UMASK = 0o007  # files the project's users make are the project group's, nobody else's


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


def group_name(project_id: int) -> str:
    return f"{PREFIX}{int(project_id)}"


def user_name(project_id: int) -> str:
    return f"{PREFIX}{int(project_id)}"


def job_user_name(project_id: int) -> str:
    return f"{PREFIX}{int(project_id)}-job"


def require_root() -> None:
    if os.geteuid() != 0:
        raise IsolationUnavailable(
            "per-project users need root (useradd, chown, setuid) and this process runs as uid "
            f"{os.geteuid()}; run the lab as root, or set [lab] isolate = false "
            "(JDX_LAB_ISOLATE=0) for trusted single-user testing only"
        )


def _run(cmd: list[str], exists_code: int) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, exists_code):  # a racing creator made it first: fine
        raise IsolationUnavailable(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()}")


def ensure_group(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        _run(["groupadd", "--system", name], exists_code=9)
        return grp.getgrnam(name).gr_gid


def ensure_user(name: str, group: str, home: Path) -> Account:
    """The system user ``name`` in ``group`` (made when missing; nologin, no home made)."""
    gid = ensure_group(group)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _run(
            ["useradd", "--system", "--gid", group, "--home-dir", str(home), "--no-create-home",
             "--shell", SHELL, name],
            exists_code=9,
        )  # fmt: skip
        entry = pwd.getpwnam(name)
    return Account(name, entry.pw_uid, gid)


def lab_accounts() -> tuple[set[str], set[str]]:
    """The names of the lab's system users and groups on this machine (``jdx-lab-p…``)."""
    users = {u.pw_name for u in pwd.getpwall() if u.pw_name.startswith(PREFIX)}
    groups = {g.gr_name for g in grp.getgrall() if g.gr_name.startswith(PREFIX)}
    return users, groups


def processes_of(uid: int) -> list[int]:
    """Process ids whose real or effective user is ``uid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:  # ended meanwhile
            continue
        line = next((x for x in status.splitlines() if x.startswith("Uid:")), "")
        if str(uid) in line.split()[1:3]:
            found.append(int(entry.name))
    return found


def remove_accounts(users: set[str], groups: set[str], *, wait: float = 10.0) -> list[str]:
    """Delete exactly these lab users (job users first) and then these groups, each by its
    name, only while no process runs as the user (waiting up to ``wait`` seconds for stopping
    servers to end); names of other prefixes are refused. What was left, with why."""
    left = []
    for name in sorted(users | groups):
        if not name.startswith(PREFIX):
            raise ValueError(f"{name!r} is not a lab account (prefix {PREFIX!r})")
    for name in sorted(users, key=lambda n: (not n.endswith("-job"), n)):
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        deadline = time.monotonic() + wait
        while (busy := processes_of(uid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        if busy:
            left.append(f"user {name}: processes {busy} still run as it")
            continue
        done = subprocess.run(["userdel", name], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            left.append(f"user {name}: userdel {done.returncode}: {done.stderr.strip()}")
    for name in sorted(groups):
        try:
            grp.getgrnam(name)
        except KeyError:  # userdel took it with its user (USERGROUPS_ENAB)
            continue
        done = subprocess.run(["groupdel", name], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            left.append(f"group {name}: groupdel {done.returncode}: {done.stderr.strip()}")
    return left


@dataclass(frozen=True)
class ProjectAccounts:
    project_id: int
    user: Account  # notebooks
    job: Account  # model-to-data jobs


def accounts(project_dir: Path, project_id: int) -> ProjectAccounts:
    """The project's users and group, made when missing (root only)."""
    require_root()
    group = group_name(project_id)
    user = ensure_user(user_name(project_id), group, project_dir / "work")
    job = ensure_user(job_user_name(project_id), group, project_dir / "jobs")
    return ProjectAccounts(project_id, user, job)


def _set(path: Path, uid: int, gid: int, mode: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, mode)


def provision(project_dir: Path, project_id: int) -> ProjectAccounts:
    """Owners and modes of a project's directory (see the module docstring); idempotent."""
    acc = accounts(project_dir, project_id)
    gid = acc.user.gid
    os.chmod(project_dir.parent, 0o711)
    _set(project_dir, 0, gid, 0o750)
    data = project_dir / "data"
    if data.is_dir():
        for f in data.iterdir():
            _set(f, 0, gid, 0o440)
        _set(data, 0, gid, 0o550)
    for name in ("work", "outputs"):
        d = project_dir / name
        d.mkdir(exist_ok=True)
        _set(d, acc.user.uid, gid, 0o2770)
    for f in (project_dir / "work").iterdir():  # the example copied in by root
        if f.is_file() and not f.is_symlink() and f.stat().st_uid == 0:
            _set(f, acc.user.uid, gid, 0o660)
    for name in ("released", "config"):
        d = project_dir / name
        d.mkdir(exist_ok=True)
        _set(d, 0, gid, 0o550)
    # jupyter_core's marker that IPython 3's config was migrated: present and not writable, so
    # the server never tries to write the config folder (it gives up the migration)
    (project_dir / "config" / "migrated").touch()
    _set(project_dir / "config" / "migrated", 0, gid, 0o440)
    for name, mode in (("requests", 0o700), ("jobs", 0o711)):
        d = project_dir / name
        d.mkdir(exist_ok=True)
        _set(d, 0, 0, mode)
    return acc


def harden_home(home: Path, projects_dir: Path) -> None:
    """Let project users through ``home`` to ``projects_dir`` and to nothing else of it."""
    home = home.resolve()
    projects_dir = projects_dir.resolve()
    chain = [p for p in [projects_dir, *projects_dir.parents] if p == home or home in p.parents]
    on_path = set(chain)
    for d in chain:
        if d.exists():
            os.chmod(d, 0o711)  # traverse, never list
            for child in d.iterdir() if d != projects_dir else ():
                if child not in on_path and not child.is_symlink():
                    mode = child.lstat().st_mode
                    os.chmod(child, stat.S_IMODE(mode) & ~0o007)
    blocked = unreachable(projects_dir.parent)
    if blocked is not None:
        raise IsolationUnavailable(
            f"project users cannot reach {projects_dir}: {blocked} does not let others through "
            f"(mode {stat.S_IMODE(blocked.stat().st_mode):04o}); give it o+x or set "
            "[lab] projects_dir (JDX_LAB_PROJECTS_DIR) to a folder they can reach"
        )


def unreachable(path: Path, *, execute: bool = False) -> Path | None:
    """The first folder on the way to ``path`` (or ``path`` itself, when ``execute``) that a
    user who is neither its owner nor in its group cannot pass, or None."""
    real = path.resolve()
    for d in reversed([real, *real.parents] if real.is_dir() else list(real.parents)):
        if not d.stat().st_mode & 0o001:
            return d
    if execute and real.is_file() and (real.stat().st_mode & 0o005) != 0o005:
        return real
    return None


def bridge_python(base: Path) -> str | None:
    """An interpreter project users can run: None when this one already is; else a small venv
    under ``base`` made from the system's Python of the same minor version whose ``.pth`` adds
    this interpreter's site-packages (the same packages, started from a place project users can
    reach; for ``[lab] python`` when the exchange's virtualenv sits in a closed folder)."""
    if unreachable(Path(sys.executable), execute=True) is None:
        return None
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(minor, path="/usr/bin:/usr/local/bin")
    if system is None:
        raise InterpreterUnreachable(f"no system {minor} to start project users' servers with")
    venv = base / "python"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / minor / "site-packages"
    ours = sysconfig.get_paths()["purelib"]
    (site / "jdx_lab_bridge.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    for path in [venv, *venv.rglob("*")]:
        if path.is_symlink():
            continue
        os.chmod(path, (path.stat().st_mode | 0o005 | (0o001 if path.is_dir() else 0)) & 0o7777)
    return str(venv / "bin" / "python")


def check_interpreter(python: Path) -> None:
    """Refuse (clearly) an interpreter the project users could not start."""
    blocked = unreachable(python, execute=True)
    if blocked is not None:
        raise InterpreterUnreachable(
            f"project users cannot run {python} (it resolves to {python.resolve()}): {blocked} "
            f"has mode {stat.S_IMODE(blocked.stat().st_mode):04o}. Set [lab] python "
            "(JDX_LAB_PYTHON) to an interpreter others can run that has jdx's packages, e.g. a "
            "venv made from /usr/bin/python3 (docs/lab.md)"
        )


def limited(then: Callable[[], None], *, memory_mb: int, cpu_seconds: int) -> Callable[[], None]:
    """A ``preexec_fn``: RLIMIT_AS ``memory_mb``, RLIMIT_CPU ``cpu_seconds`` (SIGXCPU, SIGKILL 5 s
    of CPU later) and no core files, set while still root (so the project user cannot raise
    them), then ``then``. Per process: each kernel a server starts inherits them and counts its
    own memory and CPU time."""
    memory = int(memory_mb) * 1024 * 1024
    cpu = int(cpu_seconds)

    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        then()

    return preexec


def demote(account: Account, cwd: Path) -> Callable[[], None]:
    """A ``preexec_fn``: become ``account`` (its group only), umask 007, then ``cwd``."""
    uid, gid, where = account.uid, account.gid, str(cwd)

    def preexec() -> None:
        os.setgid(gid)
        os.setgroups([gid])
        os.setuid(uid)
        os.umask(UMASK)
        os.chdir(where)

    return preexec
