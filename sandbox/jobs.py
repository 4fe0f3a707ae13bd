"""Model-to-data jobs: an analyst's script on the project's full extract, with limits.

:func:`run` copies ``work/<script>`` (read without following links) into ``jobs/<id>/``, which
belongs to the project's job user (``jdx-lab-p<id>-job``, mode 0700: the notebooks' user cannot
look in), and runs it there with the lab's Python in a separate process:

- as the job user, in the project's group only (it reads ``data/``), umask 007;
- limits set between fork and exec: ``RLIMIT_CPU`` (``[lab] job_cpu_seconds``; SIGXCPU, then
  SIGKILL a few seconds later), ``RLIMIT_AS`` (``job_memory_mb``: allocations fail, Python
  raises MemoryError), ``RLIMIT_FSIZE`` (``output_max_bytes`` per file), no core files; and a
  wall-clock limit (``job_wall_seconds``) after which its process group is killed;
- an environment of its own: ``JDX_LAB_DATA`` (the full extract), ``JDX_LAB_OUTPUTS`` (its
  outputs folder), one thread for the numeric libraries; nothing of jdx's settings;
- stdout and stderr captured through pipes, the first ``job_log_bytes`` of each kept (the rest
  counted and dropped) in ``jobs/<id>/stdout.txt`` / ``stderr.txt`` for staff only: a log can
  print rows, so it never goes back to the analyst.

Only the job's outputs come back, as an output request through the same checks as a notebook's
(:func:`sandbox.outputs.submit`). A job over a limit is recorded ``over_limit`` with its code
(LAB030 CPU, LAB031 memory, LAB032 wall clock); one that fails by itself ``failed`` (LAB033).
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from exchange.errors import JdxError
from exchange.registry import db as registry_db
from exchange.registry import outputs as registry_outputs
from exchange.registry.models import JobStatus
from exchange.registry.outputs import JobInfo, OutputRequestInfo
from exchange.settings import Settings
from sandbox import isolation, outputs
from sandbox.errors import (
    JobCpuLimit,
    JobFailed,
    JobMemoryLimit,
    JobWallLimit,
    OutputFileRefused,
)
from sandbox.hubconfig import python
from sandbox.settings import LabSettings

MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int
    memory_mb: int
    wall_seconds: int
    log_bytes: int
    file_bytes: int

    @classmethod
    def of(cls, lab: LabSettings, **lower: int | None) -> Limits:
        """The settings' limits, each lowered (never raised) by a value given."""
        base = {
            "cpu_seconds": lab.job_cpu_seconds, "memory_mb": lab.job_memory_mb,
            "wall_seconds": lab.job_wall_seconds, "log_bytes": lab.job_log_bytes,
            "file_bytes": lab.output_max_bytes,
        }  # fmt: skip
        for name, value in lower.items():
            if value is not None:
                base[name] = min(base[name], int(value))
        return cls(**base)


@dataclass(frozen=True)
class JobResult:
    job: JobInfo
    request: OutputRequestInfo | None  # the outputs' release request, when it wrote any
    error: JdxError | None  # over a limit or failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job.as_dict(),
            "request": self.request.as_dict() if self.request else None,
            "error": None if self.error is None
            else {"code": self.error.code, "message": str(self.error)},
        }  # fmt: skip


class _Capped:
    """Reads a pipe to the end, keeping the first ``limit`` bytes."""

    def __init__(self, pipe: IO[bytes], limit: int) -> None:
        self.kept = bytearray()
        self.dropped = 0
        self._pipe, self._limit = pipe, limit
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for block in iter(lambda: self._pipe.read(65536), b""):
            room = self._limit - len(self.kept)
            self.kept += block[: max(room, 0)]
            self.dropped += max(len(block) - max(room, 0), 0)

    def text(self) -> str:
        self.thread.join(10)
        tail = f"\n[{self.dropped:,} more bytes dropped]\n" if self.dropped else ""
        return self.kept.decode(errors="replace") + tail


def read_script(work: Path, name: str) -> bytes:
    """The job script ``work/<name>``: a plain ``.py`` file, read without following links."""
    if not name or "/" in name or name.startswith(".") or not name.endswith(".py"):
        raise OutputFileRefused(f"{name!r} is not a .py file name of work/")
    try:
        fd = os.open(work / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise OutputFileRefused(f"{name} cannot be read in work/ ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OutputFileRefused(f"{name} is not a regular file")
        return f.read(1_000_001)


def _limiter(limits: Limits, then: Any) -> Any:
    def preexec() -> None:
        os.setpgid(0, 0)
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        memory = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        then()

    return preexec


def run(
    settings: Settings,
    project_id: int,
    submitted_by: str,
    script: str,
    *,
    cpu_seconds: int | None = None,
    memory_mb: int | None = None,
    wall_seconds: int | None = None,
) -> JobResult:
    """Run ``work/<script>`` of the project as a job (see the module docstring)."""
    lab = settings.section(LabSettings)
    limits = Limits.of(lab, cpu_seconds=cpu_seconds, memory_mb=memory_mb,
                       wall_seconds=wall_seconds)  # fmt: skip
    pdir = outputs.project_dir(settings, project_id)
    code = read_script(pdir / "work", script)
    with registry_db.session(settings.registry_url) as db:
        job = registry_outputs.job_submit(
            db, project_id=project_id, submitted_by=submitted_by, script=script,
            script_sha256=hashlib.sha256(code).hexdigest(),
        )  # fmt: skip
    jobdir = pdir / "jobs" / str(job.id)
    out_dir = jobdir / "outputs"
    jobdir.parent.mkdir(exist_ok=True)
    jobdir.mkdir(mode=0o700)
    os.chmod(jobdir, 0o700)  # whatever the umask: the notebooks' user must not look in
    out_dir.mkdir(mode=0o700)
    (jobdir / "script.py").write_bytes(code)
    if lab.isolate:
        account = isolation.provision(pdir, project_id).job
        for path in (jobdir, out_dir, jobdir / "script.py"):
            os.chown(path, account.uid, account.gid)
        demote = isolation.demote(account, jobdir)
    else:

        def demote() -> None:
            os.umask(isolation.UMASK)
            os.chdir(jobdir)

    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(jobdir), "LANG": "C.UTF-8",
        "JDX_LAB_PROJECT": str(project_id), "JDX_LAB_JOB": str(job.id),
        "JDX_LAB_DATA": str(pdir / "data"), "JDX_LAB_OUTPUTS": str(out_dir),
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    }  # fmt: skip
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(python(lab)), "script.py"], cwd=jobdir, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_limiter(limits, demote),
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    out, err = _Capped(proc.stdout, limits.log_bytes), _Capped(proc.stderr, limits.log_bytes)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > limits.wall_seconds:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    stdout, stderr = out.text(), err.text()
    for name, text in (("stdout.txt", stdout), ("stderr.txt", stderr)):
        log = jobdir / name
        log.write_text(text)
        os.chown(log, 0, 0) if os.geteuid() == 0 else None
        os.chmod(log, 0o600)
    cpu = usage.ru_utime + usage.ru_stime
    rc = proc.returncode
    error: JdxError | None = None
    what = f"job {job.id} ({script})"
    if timed_out:
        error = JobWallLimit(
            f"{what} ran over {limits.wall_seconds} s of wall clock and was stopped"
        )
    elif rc in (-signal.SIGXCPU, -signal.SIGKILL) and cpu >= limits.cpu_seconds - 0.5:
        error = JobCpuLimit(f"{what} used its {limits.cpu_seconds} s of CPU time and was stopped")
    elif rc != 0 and any(sign in stderr for sign in MEMORY_SIGNS):
        error = JobMemoryLimit(
            f"{what} ran out of its {limits.memory_mb} MiB of memory; use less (read fewer "
            "columns, aggregate by month) or ask staff for a higher [lab] job_memory_mb"
        )
    elif rc != 0:
        error = JobFailed(f"{what} exited with status {rc}; staff can read its log")
    status_ = (
        JobStatus.DONE if error is None
        else JobStatus.FAILED if isinstance(error, JobFailed) else JobStatus.OVER_LIMIT
    )  # fmt: skip
    with registry_db.session(settings.registry_url) as db:
        done = registry_outputs.job_finish(
            db, job.id, status=status_, exit_code=rc, error_code=error.code if error else None,
            cpu_seconds=cpu, max_rss_kb=usage.ru_maxrss,
        )  # fmt: skip
    request = None
    if error is None:
        names = sorted(
            p.name for p in out_dir.iterdir()
            if p.is_file() and not p.name.endswith(".evidence.json") and not p.name.startswith(".")
        )  # fmt: skip
        if names:
            request = outputs.submit(settings, project_id, submitted_by, names,
                                     note=f"outputs of job {job.id}", job_id=job.id,
                                     source=out_dir)  # fmt: skip
    return JobResult(done, request, error)
