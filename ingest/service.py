"""The ingest stage's long-running services (each a :class:`runtime.services.Service`: started
once, stopped once, saying what it serves; ``runtime`` composes and runs them).

:class:`LoaderService` runs the :class:`~ingest.loader.Loader` on worker threads;
:class:`SftpService` is the members' SFTP server.

Invariants:

* At most one thread processes a member at a time (its files load in order); different members
  load in parallel on ``threads`` workers, each with its own warehouse client (the warehouse
  gives every thread its own).
* Work arrives two ways: :meth:`LoaderService.notify` (the SFTP server's callbacks, for a
  control file closed or renamed into place) and a scan of every inbox at start and every
  ``poll_interval`` seconds, which finds what arrived while nothing listened. A member notified
  while it is being processed is processed again afterwards.
* The archive pass (:func:`ingest.archive.run_pass`: purge data files past ``archive_days``,
  seal what older versions left plain) runs on its own thread at start and then every
  ``archive_every`` seconds (a day); a pass still running elsewhere (``jdx ingest
  purge-archive``) makes it skip a round.
* :meth:`LoaderService.stop` asks the workers to stop after the current submission (or between
  insert blocks; an abandoned load stays claimed and is replayed at the next start) and waits
  up to ``timeout`` seconds. Nothing depends on a clean stop: a killed process resumes.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ingest import archive, disputes
from ingest.areas import member_area
from ingest.claims import is_control, members
from ingest.loader import Loader, Outcome

if TYPE_CHECKING:
    from ingest.sftp.server import SFTPLandingServer

log = logging.getLogger("jdx.ingest.service")
_DIGITS = re.compile(r"[0-9]{11,}")


def redact(text: str) -> str:
    """``text`` without runs of 11+ digits (identity or mobile numbers quoted by an error)."""
    return _DIGITS.sub("<digits>", text)[:300]


class LoaderService:
    """The loader on worker threads, fed by SFTP events and inbox scans."""

    name = "loader"

    def __init__(
        self,
        loader: Loader,
        *,
        threads: int = 2,
        poll_interval: float = 5.0,
        on_outcome: Callable[[Outcome], None] | None = None,
        archive_every: float | None = 86_400.0,
    ) -> None:
        self.loader = loader
        self.threads = threads
        self.poll_interval = poll_interval
        self.archive_every = archive_every
        self.on_outcome = on_outcome
        self.stopping = loader.stopping
        self._queue: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._queued: set[str] = set()
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._idle = threading.Condition(self._lock)
        self._workers: list[threading.Thread] = []
        self._scanner: threading.Thread | None = None
        self._archiver: threading.Thread | None = None

    # -- feeding -------------------------------------------------------------------------------

    def notify(self, member: str, path: Path) -> None:
        """SFTP callback (any thread): a file was closed or renamed in ``member``'s inbox."""
        if is_control(path.name):
            self.enqueue(member)

    def enqueue(self, member: str) -> None:
        with self._lock:
            if member in self._busy:
                self._again.add(member)
            elif member not in self._queued:
                self._queued.add(member)
                self._queue.put(member)

    def scan(self) -> None:
        """Queue every member with a claim to resume or a control file waiting (loans or
        dispute answers)."""
        try:
            for member in self.loader.members_with_work():
                self.enqueue(member)
            root = self.loader.config.members_root
            for member in members(root):
                if disputes.controls(member_area(root, member)):
                    self.enqueue(member)
        except Exception:
            log.exception(
                "scanning the member inboxes failed; trying again in %.0f s", self.poll_interval
            )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        dropped = self.loader.start_up()
        if dropped:
            log.info("dropped %d scratch table(s) of interrupted loads", dropped)
        self.scan()
        for i in range(self.threads):
            worker = threading.Thread(target=self._work, name=f"loader-{i + 1}", daemon=True)
            worker.start()
            self._workers.append(worker)
        self._scanner = threading.Thread(target=self._scan_loop, name="loader-scan", daemon=True)
        self._scanner.start()
        if self.archive_every is not None:
            self._archiver = threading.Thread(
                target=self._archive_loop, name="loader-archive", daemon=True
            )
            self._archiver.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        others = [t for t in (self._scanner, self._archiver) if t is not None]
        for thread in [*self._workers, *others]:
            thread.join(timeout)
        busy = [t.name for t in self._workers if t.is_alive()]
        if busy:
            log.warning("loader threads %s still busy; their loads resume at the next start", busy)
        else:
            self.loader.close()

    def describe(self) -> list[str]:
        return [
            f"loader: {self.threads} thread(s), inboxes under {self.loader.config.members_root}, "
            f"scanned every {self.poll_interval:g} s"
        ]

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or being processed (tests, ``--once``-like use)."""
        with self._idle:
            return self._idle.wait_for(
                lambda: not self._queued and not self._busy and not self._again, timeout
            )

    # -- threads -------------------------------------------------------------------------------

    def archive_pass(self) -> archive.PassReport | None:
        """One archive pass over the loader's member areas at the loader's clock (None when
        another pass holds the archive, or it failed: logged)."""
        loader = self.loader
        try:
            report = archive.run_pass(
                loader.config.members_root,
                loader.archive_keys,
                registry_url=loader.registry_url,
                archive_days=loader.config.archive_days,
                now=loader.clock(),
                actor="loader",
            )
        except archive.ArchiveBusy:
            log.info("archive pass skipped: another one is running")
            return None
        except Exception as exc:
            log.error(
                "archive pass failed (%s: %s); retried in %.0f s",
                type(exc).__name__,
                redact(str(exc)),
                self.archive_every or 0,
            )
            log.debug("traceback of the failed archive pass", exc_info=True)
            return None
        if report.actions:
            log.info(
                "archive pass: %d data file(s) purged after %d days, %d sealed",
                report.count("purge"),
                loader.config.archive_days,
                report.count("seal") + report.count("reseal"),
            )
        return report

    def _archive_loop(self) -> None:
        assert self.archive_every is not None
        while not self.stopping.is_set():
            self.archive_pass()
            if self.stopping.wait(self.archive_every):
                return

    def _scan_loop(self) -> None:
        while not self.stopping.wait(self.poll_interval):
            self.scan()

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                member = self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
            with self._lock:
                self._queued.discard(member)
                self._busy.add(member)
            try:
                outcomes = self.loader.process_member(member)
                for outcome in outcomes:
                    if self.on_outcome is not None:
                        self.on_outcome(outcome)
                self._disputes(member, any(o.accepted for o in outcomes))
            except Exception as exc:
                # the message only (it could quote data); the traceback at DEBUG level
                log.error(
                    "member %s: loading failed (%s: %s); retried at the next scan",
                    member,
                    type(exc).__name__,
                    redact(str(exc)),
                )
                log.debug("traceback of the failed load", exc_info=True)
            finally:
                with self._lock:
                    self._busy.discard(member)
                    again = member in self._again
                    self._again.discard(member)
                    if again and member not in self._queued:
                        self._queued.add(member)
                        self._queue.put(member)
                    self._idle.notify_all()

    def _disputes(self, member: str, loaded: bool) -> None:
        """The member's dispute answers by file, and its answered cases a load may close."""
        loader = self.loader
        area = member_area(loader.config.members_root, member)
        disputes.answer_files(area, loader.registry_url, loader.clock())
        if loaded:
            closed = disputes.settle(loader.wh, loader.registry_url, member)
            if closed:
                log.info("member %s: disputes closed by the load: %s", member, ", ".join(closed))


class SftpService:
    """The members' SFTP server (:class:`ingest.sftp.server.SFTPLandingServer`) as a service."""

    name = "sftp"

    def __init__(self, server: SFTPLandingServer) -> None:
        self.server = server

    def start(self) -> None:
        self.server.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.server.stop(timeout)

    def describe(self) -> list[str]:
        from ingest.sftp.hostkey import fingerprint

        host, port = self.server.address
        return [
            f"sftp: {host}:{port}, host key {fingerprint(self.server.host_key)}, "
            f"member areas under {self.server.members_root}"
        ]
