"""Automatic disclosure checks of a lab output file, ACRO's rules with ACRO's default parameters.

The ``acro`` package (SACRO) is not used: its release 1.0.2 requires ``pandas<=2.3.3`` and this
environment runs pandas 3.1 (installing it would downgrade pandas for the whole exchange and add
matplotlib, rdflib, lxml and openpyxl). ACRO also checks tables it computes itself in the
analyst's session; here a file arrives after the fact, so each rule is implemented on the file
and its evidence (``<file>.evidence.json``, written by :mod:`sandbox.labkit` beside the table or
model summary), with ACRO's parameters (``acro/default.yaml``): minimum cell count 10 (zeros are
disclosive), residual degrees of freedom at least 10, the N,K dominance rule with N=2, K=90 %,
and the p % rule with p=10 %.

Each finding is a reason with a code (docs/lab.md):

| code   | rule |
|--------|------|
| LAB020 | file type: only CSV tables and model summaries (``.txt`` with evidence) are checkable |
| LAB021 | no keys: no column named or shaped like a borrower or account key |
| LAB022 | no row-level data: a table must carry its cell counts (column ``n``) |
| LAB023 | minimum cell count: every cell's count is at least 10 (0 included) |
| LAB024 | dominance: the 2 largest contributions are at most 90 % of a cell (N,K) and the rest at
|        | least 10 % of the largest (p %); a magnitude column needs evidence of contributions |
| LAB025 | model: residual degrees of freedom at least 10 (needs the evidence) |
| LAB026 | file too large, unreadable, or its evidence does not match it |

The outcome of a file is ``pass`` (goes to a reviewer) or ``blocked`` (with every reason). The
reviewer, not these checks, decides a release; the checks keep obvious disclosures from reaching
review and tell the analyst why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

THRESHOLD = 10
DOF_THRESHOLD = 10
NK_N, NK_K = 2, 0.90
P_RATIO = 0.10
COUNT_COLUMN = "n"
EVIDENCE_SUFFIX = ".evidence.json"
KEY_NAMES = re.compile(r"^(borrower|account|borrower_key|account_id|.*_key|key|id)$", re.I)
KEY_SHAPE = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{64}$")
TABLE_TYPES = {".csv"}
MODEL_TYPES = {".txt"}


@dataclass
class Finding:
    name: str
    kind: str  # table | model | other
    reasons: list[dict[str, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def block(self, code: str, message: str) -> None:
        self.reasons.append({"code": code, "message": message})

    @property
    def outcome(self) -> str:
        return "blocked" if self.reasons else "pass"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "outcome": self.outcome,
                "reasons": self.reasons, "facts": self.facts}  # fmt: skip


def evidence_of(path: Path) -> dict[str, Any] | None:
    side = path.with_name(path.name + EVIDENCE_SUFFIX)
    if not side.is_file():
        return None
    try:
        found = json.loads(side.read_text())
    except (OSError, ValueError):
        return {"invalid": True}
    return found if isinstance(found, dict) else {"invalid": True}


def check_file(path: Path, *, max_bytes: int) -> Finding:
    """Every rule that applies to ``path`` (see the module docstring)."""
    suffix = path.suffix.lower()
    kind = "table" if suffix in TABLE_TYPES else "model" if suffix in MODEL_TYPES else "other"
    found = Finding(path.name, kind)
    size = path.stat().st_size
    if size > max_bytes:
        found.block("LAB026", f"{size:,} bytes, over the limit of {max_bytes:,}")
        return found
    evidence = evidence_of(path)
    if evidence is not None and evidence.get("invalid"):
        found.block("LAB026", f"{path.name}{EVIDENCE_SUFFIX} is not a JSON object")
        return found
    if kind == "table":
        _check_table(path, evidence, found)
    elif kind == "model":
        _check_model(evidence, found)
    else:
        found.block(
            "LAB020",
            f"file type {suffix or '(none)'} cannot be checked; write tables as CSV with "
            "sandbox.labkit.table and models with sandbox.labkit.save_model",
        )
    return found


def _check_table(path: Path, evidence: dict[str, Any] | None, found: Finding) -> None:
    try:
        table = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as e:
        found.block("LAB026", f"not a readable CSV table: {e}")
        return
    found.facts["rows"] = len(table)
    for column in table.columns:
        values = table[column].dropna().astype(str)
        shaped = values.str.fullmatch(KEY_SHAPE).mean() if len(values) else 0.0
        if KEY_NAMES.match(str(column)) or shaped >= 0.5:
            found.block(
                "LAB021",
                f"column {column!r} looks like a borrower or account key; keys never leave the lab",
            )
    count = str((evidence or {}).get("count_column", COUNT_COLUMN))
    if count not in table.columns:
        found.block(
            "LAB022",
            f"no cell counts (column {count!r}): a file without them is treated as row-level "
            f"data, which never leaves the lab; aggregate with sandbox.labkit.table",
        )
        return
    counts = pd.to_numeric(table[count], errors="coerce")
    small = table.index[(counts < THRESHOLD) | counts.isna()].tolist()
    found.facts["smallest_count"] = None if counts.empty else float(counts.min())
    if small:
        found.block(
            "LAB023",
            f"{len(small)} cell(s) under the minimum count of {THRESHOLD} (smallest "
            f"{counts.min():g}, rows {', '.join(str(i + 1) for i in small[:10])}); combine "
            "categories or suppress those cells",
        )
    dims = [str(c) for c in (evidence or {}).get("by", [])]
    magnitudes = [
        str(c)
        for c in table.columns
        if c != count and c not in dims and pd.api.types.is_numeric_dtype(table[c])
    ]
    dominance = (evidence or {}).get("dominance", {})
    for column in magnitudes:
        cells = dominance.get(column)
        if not isinstance(cells, list) or len(cells) != len(table):
            found.block(
                "LAB024",
                f"column {column!r} is a magnitude without evidence of its largest "
                "contributions, so dominance cannot be checked; make the table with "
                "sandbox.labkit.table",
            )
            continue
        nk = [i for i, (t1, t2, tot) in enumerate(cells) if tot > 0 and t1 + t2 > NK_K * tot]
        pr = [
            i for i, (t1, t2, tot) in enumerate(cells) if t1 > 0 and (tot - t1 - t2) < P_RATIO * t1
        ]
        bad = sorted(set(nk) | set(pr))
        if bad:
            found.block(
                "LAB024",
                f"column {column!r}: {len(bad)} cell(s) dominated by their largest contributors "
                f"(N,K rule N={NK_N} K={NK_K:.0%}: {len(nk)}; p% rule p={P_RATIO:.0%}: {len(pr)}; "
                f"rows {', '.join(str(i + 1) for i in bad[:10])})",
            )
    given = (evidence or {}).get("counts")
    if given is not None and [float(x) for x in given] != [float(x) for x in counts.tolist()]:
        found.block("LAB026", "the evidence's cell counts differ from the table's")


def _check_model(evidence: dict[str, Any] | None, found: Finding) -> None:
    if not evidence or evidence.get("kind") != "model" or "df_resid" not in evidence:
        found.block(
            "LAB025",
            "a model summary needs its evidence (residual degrees of freedom); save it with "
            "sandbox.labkit.save_model",
        )
        return
    dof = float(evidence["df_resid"])
    found.facts["df_resid"] = dof
    found.facts["nobs"] = evidence.get("nobs")
    if dof < DOF_THRESHOLD:
        found.block(
            "LAB025",
            f"residual degrees of freedom {dof:g} under {DOF_THRESHOLD}: the estimates could "
            "reveal individual observations",
        )
