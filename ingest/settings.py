"""Settings of the SFTP landing service (``[sftp]``, ``JDX_SFTP_*``) and of the member areas
(``[ingest]``, ``JDX_INGEST_*``).

Both follow :mod:`exchange.settings`: environment beats the config file's section, which beats the
defaults; every field is documented. Path defaults that depend on the data directory are ``None``
here and filled in by ``resolved(home)`` from ``JDX_HOME``:

- ``[sftp] host_key`` → ``<home>/secrets/sftp_host_ed25519`` (generated once, mode 0600)
- ``[ingest] members_root`` → ``<home>/members`` (one area per member, see :mod:`ingest.areas`)

The flow-control defaults (16 MiB window, 128 KiB packets) were measured on this machine to give
≈ 80 MB/s with the stock OpenSSH client on loopback; paramiko's own defaults (2 MiB / 32 KiB) give
≈ 55 MB/s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from exchange.settings import Section, under

HOST_KEY_FILE = "sftp_host_ed25519"
MEMBERS_DIR = "members"
MiB = 1024 * 1024


class SftpSettings(Section):
    """The SFTP server members upload to (``jdx sftp serve``)."""

    section: ClassVar[str] = "sftp"
    model_config = SettingsConfigDict(env_prefix="JDX_SFTP_", extra="forbid")

    host: str = Field(
        "127.0.0.1",
        description="Address to listen on. 0.0.0.0 (or ::) to accept members from the network.",
    )
    port: int = Field(2222, ge=0, le=65535, description="TCP port to listen on (0: any free port).")
    host_key: Path | None = Field(
        None,
        description="Ed25519 host key (OpenSSH private key format, mode 0600), generated on first "
        "start and reused after, so members' known_hosts stay valid. "
        "Default: <home>/secrets/sftp_host_ed25519.",
    )
    window_size: int = Field(
        16 * MiB,
        ge=32 * 1024,
        le=1024 * MiB,
        description="SSH channel window in bytes: how much a client may send before it waits "
        "for an acknowledgement. Large windows are what makes uploads fast.",
    )
    max_packet_size: int = Field(
        128 * 1024,
        ge=4 * 1024,
        le=256 * 1024,
        description="Largest SSH channel data packet in bytes the server announces.",
    )
    max_sessions: int = Field(
        64,
        ge=1,
        le=10_000,
        description="Most concurrent SSH connections; more are closed at once (and logged).",
    )
    login_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a connection may take from TCP connect to authenticated session.",
    )
    max_file_bytes: int = Field(
        8 * 1024 * MiB,
        ge=1,
        description="Largest file a member may upload; a write beyond it fails (disk protection).",
    )

    def resolved(self, home: Path) -> Self:
        return self.model_copy(
            update={"host_key": under(home, self.host_key, Path("secrets") / HOST_KEY_FILE)}
        )


class IngestSettings(Section):
    """Members' landing areas (shared by the SFTP server and the loader) and the loader itself."""

    section: ClassVar[str] = "ingest"
    model_config = SettingsConfigDict(env_prefix="JDX_INGEST_", extra="forbid")

    members_root: Path | None = Field(
        None,
        description="Directory holding one area per member (<root>/<CODE>/inbox, outbox, "
        "processing, archive). Default: <home>/members.",
    )
    poll_interval: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="Seconds between scans of every member's inbox for control files. Uploads "
        "through the running SFTP server start at once; the scan finds what arrived while no "
        "loader listened (and control files still waiting for their data file).",
    )
    loader_threads: int = Field(
        2,
        ge=1,
        le=64,
        description="Submissions loaded at the same time, each by its own thread with its own "
        "warehouse client. A member's files are always loaded one after another, in name order.",
    )
    control_grace: float = Field(
        600.0,
        ge=0,
        description="Seconds a batch-lookup control file (<base>.ctl naming a .batch.csv) may "
        "wait in inbox/ for its data file before the batch is refused. Loans files wait "
        "orphan_control_hours instead.",
    )
    orphan_control_hours: float = Field(
        24.0,
        ge=0,
        le=24 * 366,
        description="Hours a control file may wait in inbox/ for its data file (counted from its "
        "arrival there); after that the loader answers it with a rejected receipt (rule F117, "
        "naming the missing data file) and archives it. 24 h: the slowest upload fits, and the "
        "member still learns of it within its reporting day.",
    )
    archive_days: int = Field(
        180,
        ge=0,
        le=36_600,
        description="Days the sealed data file of an answered submission stays in archive/ "
        "after it was received; jdx ingest purge-archive (run by the loader service once a day) "
        "then deletes it, recorded in the audit chain. Control files, receipts and errors files "
        "stay. 180 days: disputes and re-loads of the last half year can use the raw file.",
    )
    max_file_bytes: int = Field(
        (2 << 30) - 1,
        ge=1 << 10,
        le=(2 << 30) - 1,
        description="Most bytes of content one data file may hold (decompressed), checked as the "
        "file streams (F116); a gzip bomb is stopped there without being expanded whole.",
    )
    max_line_bytes: int = Field(
        1 << 16,
        ge=1 << 10,
        le=1 << 24,
        description="Longest line of a data file, in bytes, checked as the file streams (F118): "
        "a record is a few hundred bytes.",
    )
    max_records: int = Field(
        5_000_000,
        ge=1,
        le=100_000_000,
        description="Most records one data file may hold (F119); a larger day is sent as "
        "several files (SEQ 001, 002 …).",
    )
    validate_memory_mb: int = Field(
        6144,
        ge=256,
        le=1 << 20,
        description="Memory one file's validation may use, in MiB. Validation runs in a child "
        "process watched by the loader: above this it is stopped and the file answered F120, so "
        "no file can take the serving process's memory. About 1.2 KB per record is needed, measured "
        "(docs/ingest.md, Limits).",
    )
    validate_processes: int = Field(
        0,
        ge=0,
        le=64,
        description="Processes one file's validation may use: its records' own rules and keyed "
        "hashes run in parts of at least 100,000 records in forked processes (files below "
        "200,000 records use one). 0: as many as the machine has cores. They count towards "
        "validate_memory_mb (docs/ingest.md, Limits).",
    )
    max_attempts: int = Field(
        5,
        ge=1,
        le=1000,
        description="Times the loader tries a submission that fails on its side (an error, or "
        "the process stopping while it validates) before answering it rejected (F121) and "
        "moving on to the member's next file. An outage of the warehouse or registry is not "
        "counted.",
    )
    insert_block_rows: int = Field(
        100_000,
        ge=1_000,
        le=10_000_000,
        description="Records per chunk of a file's load: accepted records turned into "
        "loan_states rows at once (written to a stream file the warehouse then reads in one "
        "insert), and records (whole accounts) per chunk whose history and "
        "other members' names are fetched and checked at once. The serving process's memory "
        "for a load grows with it, not with the file: 100,000 keeps a 1M-record load's heap "
        "near 1.2 GiB (500,000: 1.8–2.0 GiB) for about 10–20 % more time (docs/ingest.md, "
        "Limits).",
    )
    insert_engine_block_rows: int = Field(
        250_000,
        ge=0,
        le=10_000_000,
        description="Rows per block the warehouse forms from a load's one loan_states insert "
        "(the accepted records, streamed from a file in the claim); the views on loan_states "
        "fire and write a part once per block. 0: the engine's own (about 1M rows or 256 MiB). "
        "Measured on a 1M-record file: 250,000 as fast as the engine's own, 100,000 slower "
        "(a part per block in every table the views fill); docs/benchmarks.md.",
    )
    dq_threshold: float = Field(
        80.0,
        ge=0,
        le=100,
        description="Data-quality score (0-100) under which a member is flagged: jdx dq show marks "
        "it, receipts carry dq_below_threshold, and reciprocity rules may limit its lookups.",
    )
    timely_days: int = Field(
        2,
        ge=0,
        le=365,
        description="DQ timeliness, the spec's deadline: a file is on time when the loader "
        "receives it by the end of the day (China Standard Time) this many days after its own "
        "as_of date (the control file's).",
    )
    max_report_gap_days: int = Field(
        31,
        ge=1,
        le=366,
        description="DQ timeliness: most days between a member's consecutive reporting dates "
        "(as_of of its loaded files) before a reporting period counts as missing. 31 suits "
        "monthly reporters; 1 holds daily reporters to every day.",
    )

    def resolved(self, home: Path) -> Self:
        return self.model_copy(update={"members_root": under(home, self.members_root, MEMBERS_DIR)})

    @property
    def validation_processes(self) -> int:
        """``validate_processes``, 0 resolved to the machine's cores."""
        return self.validate_processes or os.cpu_count() or 1
