"""What a submission in a member's ``inbox/`` is: the one place that tells the kinds apart.

A submission is a control file ``<base>.ctl`` and its data file. Its kind decides which stage
answers it: ``loans`` (``<base>.loans.csv[.gz]``, the loader, :mod:`ingest.loader`) or ``batch``
(``<base>.batch.csv[.gz]``, the batch lookups of :mod:`products.sftp_batch`) or ``disputes``
(``<base>.disputes.csv``, members' answers to dispute cases, :mod:`ingest.disputes`). The rule, in order:

1. the data file the control file names (``"file"``), if its name ends in a kind's suffix;
2. else a data file of the same base in ``inbox/`` ending in a kind's suffix other than loans;
3. else ``loans`` — the loader answers anything else (a control file naming nothing readable is
   its F103/F117 to report).

Every stage asks :func:`kind_of` and handles only its own kind, so no file is answered twice
and none is left unanswered.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path


class Kind(StrEnum):
    LOANS = "loans"
    BATCH = "batch"
    DISPUTES = "disputes"


#: Data file name endings of each kind.
SUFFIXES: dict[Kind, tuple[str, ...]] = {
    Kind.LOANS: (".loans.csv", ".loans.csv.gz"),
    Kind.BATCH: (".batch.csv", ".batch.csv.gz"),
    Kind.DISPUTES: (".disputes.csv",),
}


def data_kind(name: str) -> Kind | None:
    """The kind a data file's name says, or None."""
    for kind, endings in SUFFIXES.items():
        if name.endswith(endings):
            return kind
    return None


def named_file(control: bytes | None) -> str | None:
    """The data file name a control file gives (None when it is not readable JSON)."""
    if control is None:
        return None
    try:
        doc = json.loads(control.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    name = doc.get("file") if isinstance(doc, dict) else None
    return (
        name if isinstance(name, str) and "/" not in name and name not in ("", ".", "..") else None
    )


def kind_of(inbox: Path, control: Path, control_bytes: bytes | None = None) -> tuple[Kind, Path]:
    """The kind of the submission of ``control`` and where its data file is (or would be)."""
    if control_bytes is None:
        try:
            control_bytes = control.read_bytes()[: 1 << 16]
        except FileNotFoundError:
            control_bytes = None
    named = named_file(control_bytes)
    if named is not None and (kind := data_kind(named)) is not None:
        return kind, inbox / named
    base = control.name.split(".", 1)[0]
    for kind, endings in SUFFIXES.items():
        if kind is Kind.LOANS:
            continue
        for ending in endings:
            if (inbox / f"{base}{ending}").is_file():
                return kind, inbox / f"{base}{ending}"
    return Kind.LOANS, inbox / (named or f"{base}.loans.csv")
