"""Output checking and release without a hub: each automatic check on real files written by
`sandbox.labkit` (or by hand, as an analyst might), and the request → review → release / reject
flow on a real registry, with its snapshots, digests and audit entries. The hub-side path (a
notebook asking through the outputs service) is in tests/test_lab_hub.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from lab_support import apply_project, people

from exchange import audit
from exchange.registry import db as registry_db
from exchange.registry import projects
from exchange.registry.errors import OutputStateConflict
from exchange.settings import Settings
from sandbox import checks, labkit, outputs
from sandbox.errors import OutputFileRefused
from sandbox.settings import LabSettings


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JDX_LAB_OUTPUTS", str(tmp_path / "outputs"))
    (tmp_path / "outputs").mkdir()
    return tmp_path / "outputs"


def accounts(borrowers: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "borrower": [f"{i:032x}" for i in rng.integers(0, borrowers, 3 * borrowers)],
        "institution_type": rng.choice(["MICROLOAN", "BANK", "CONSUMER_FINANCE"], 3 * borrowers),
        "balance": rng.gamma(2.0, 1000.0, 3 * borrowers),
    })  # fmt: skip


def check(path: Path) -> checks.Finding:
    return checks.check_file(path, max_bytes=1_000_000)


def codes(found: checks.Finding) -> set[str]:
    return {r["code"] for r in found.reasons}


def test_an_aggregated_table_passes_and_a_cell_of_3_is_blocked_with_the_reason(out: Path) -> None:
    labkit.table(accounts(), ["institution_type"], value="balance", name="ok")
    assert check(out / "ok.csv").outcome == "pass"
    pd.DataFrame({"product": ["CASH", "BNPL", "AUTO"], "n": [40, 3, 12]}).to_csv(
        out / "small.csv", index=False
    )
    found = check(out / "small.csv")
    assert found.outcome == "blocked" and codes(found) == {"LAB023"}
    assert (
        "1 cell(s) under the minimum count of 10 (smallest 3, rows 2)"
        in found.reasons[0]["message"]
    )
    pd.DataFrame({"product": ["CASH"], "n": [0]}).to_csv(out / "zero.csv", index=False)
    assert codes(check(out / "zero.csv")) == {"LAB023"}  # zeros are disclosive (ACRO)


def test_row_level_data_and_keys_are_blocked(out: Path) -> None:
    frame = accounts()
    frame.head(40).to_csv(out / "rows.csv", index=False)
    assert codes(check(out / "rows.csv")) == {"LAB021", "LAB022"}
    renamed = frame.rename(columns={"borrower": "who"}).head(40).assign(n=12)
    renamed.to_csv(out / "disguised.csv", index=False)  # key-shaped values under another name
    assert "LAB021" in codes(check(out / "disguised.csv"))
    (out / "extract.parquet").write_bytes(b"PAR1")
    assert codes(check(out / "extract.parquet")) == {"LAB020"}


def test_dominance_is_checked_from_the_evidence(out: Path) -> None:
    frame = pd.DataFrame({
        "borrower": [f"b{i}" for i in range(24)],
        "group": ["a"] * 12 + ["b"] * 12,
        "balance": [1_000_000.0] + [10.0] * 11 + [100.0] * 12,  # one borrower is group a
    })  # fmt: skip
    labkit.table(frame, ["group"], value="balance", name="dominated")
    found = check(out / "dominated.csv")
    assert codes(found) == {"LAB024"} and "rows 1)" in found.reasons[0]["message"]
    two = frame.assign(balance=[500_000.0, 500_000.0] + [1.0] * 10 + [100.0] * 12)
    labkit.table(two, ["group"], value="balance", name="two_dominate")  # N,K with N=2
    assert codes(check(out / "two_dominate.csv")) == {"LAB024"}
    pd.read_csv(out / "dominated.csv").to_csv(out / "no_evidence.csv", index=False)
    found = check(out / "no_evidence.csv")  # a magnitude without evidence cannot pass
    assert codes(found) == {"LAB024"} and "without evidence" in found.reasons[0]["message"]
    evidence = json.loads((out / "dominated.csv.evidence.json").read_text())
    evidence["counts"] = [99, 99]
    (out / "dominated.csv.evidence.json").write_text(json.dumps(evidence))
    assert "LAB026" in codes(check(out / "dominated.csv"))


def test_models_need_ten_residual_degrees_of_freedom(out: Path) -> None:
    rng = np.random.default_rng(1)
    big = pd.DataFrame({"x": rng.normal(size=200)}).assign(
        y=lambda d: d.x * 2 + rng.normal(size=200)
    )
    labkit.save_model(smf.ols("y ~ x", data=big).fit(), "big")
    assert check(out / "big.txt").outcome == "pass"
    labkit.save_model(smf.ols("y ~ x", data=big.head(8)).fit(), "tiny")  # 6 residual dof
    found = check(out / "tiny.txt")
    assert codes(found) == {"LAB025"} and "6 under 10" in found.reasons[0]["message"]
    (out / "bare.txt").write_text("coef 0.3")
    assert codes(check(out / "bare.txt")) == {"LAB025"}
    assert codes(checks.check_file(out / "big.txt", max_bytes=10)) == {"LAB026"}


@pytest.fixture
def project(jdx_home: Settings, registry: str) -> tuple[Settings, int, Path]:
    with registry_db.session(registry) as db:
        people(db)
        pid = apply_project(db, "ana").id
        projects.approve(db, pid, actor="rev", extract_sha256="0" * 64, extract_rows=0)
    root = jdx_home.section(LabSettings).projects_dir
    assert root is not None
    (root / str(pid) / "outputs").mkdir(parents=True)
    return jdx_home, pid, root / str(pid)


def test_requests_are_snapshotted_reviewed_released_and_audited(
    project: tuple[Settings, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, pid, pdir = project
    monkeypatch.setenv("JDX_LAB_OUTPUTS", str(pdir / "outputs"))
    labkit.table(accounts(), ["institution_type"], name="counts")
    os.symlink("/etc/passwd", pdir / "outputs" / "link.csv")
    with pytest.raises(OutputFileRefused, match="links are not followed"):
        outputs.submit(settings, pid, "ana", ["link.csv"])
    with pytest.raises(OutputFileRefused, match="no folders"):
        outputs.submit(settings, pid, "ana", ["../data/accounts.parquet"])
    first = outputs.submit(settings, pid, "ana", ["counts.csv"], note="q1")
    assert first.status.value == "review"
    (pdir / "outputs" / "counts.csv").write_text("n\n1\n")  # changed after the request: no effect
    done = outputs.release(settings, first.id, actor="rev", reason="counts of 10 or more")
    released = pdir / "released" / str(first.id) / "counts.csv"
    assert (
        outputs.sha256_file(released)
        == done.files[0]["sha256"]
        != outputs.sha256_file(pdir / "outputs" / "counts.csv")
    )
    assert oct(released.stat().st_mode & 0o777) == "0o440"
    assert not (released.parent / "counts.csv.evidence.json").exists()
    with pytest.raises(OutputStateConflict):
        outputs.reject(settings, first.id, actor="rev", reason="late")
    labkit.table(accounts(), ["institution_type"], name="counts")
    second = outputs.submit(settings, pid, "ana", ["counts.csv"])
    snapshot = pdir / "requests" / str(second.id) / "counts.csv"
    os.chmod(snapshot, 0o600)
    snapshot.write_text("n\n1\n")  # tampered with after the checks
    with pytest.raises(OutputFileRefused, match="no longer has the digest"):
        outputs.release(settings, second.id, actor="rev", reason="ok")
    outputs.reject(settings, second.id, actor="rev", reason="same as request 1")
    with registry_db.session(settings.registry_url, readonly=True) as db:
        acts = [(e.action, e.actor, e.details) for e in audit.entries(db)
                if e.action.startswith("lab.output")]  # fmt: skip
    assert [(a, who) for a, who, _ in acts] == [
        ("lab.output_request", "ana"), ("lab.output_release", "rev"),
        ("lab.output_request", "ana"), ("lab.output_reject", "rev"),
    ]  # fmt: skip
    assert acts[1][2]["files"] == {"counts.csv": done.files[0]["sha256"]}
    assert acts[3][2]["reason"] == "same as request 1"
