"""Example: a logit of 90+ dpd within 12 months on multi-borrowing and product features.

Runs inside a lab project (a notebook cell ``%run logit_90dpd.py`` or ``python logit_90dpd.py``
in ``work/``) on the project's de-identified extract, ``../data/accounts.parquet``.

Sample: borrowers with an open account (NORMAL or OVERDUE) and under 90 dpd at the snapshot
month — the project's 13th month from the end, or its first month when it has fewer (then the
horizon is shorter). Outcome: any of the borrower's accounts at 90+ dpd in the 12 months after
the snapshot. Features at the snapshot: institutions with an open account (multi-borrowing), open
accounts, any cash loan / BNPL / revolving account, log of total balance, any current arrears.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

HORIZON = 12
FORMULA = (
    "bad90 ~ institutions + accounts + has_cash + has_bnpl + has_revolving "
    "+ log_balance + in_arrears"
)


def sample(accounts: pd.DataFrame) -> pd.DataFrame:
    """One row per borrower at the snapshot: features and the 12-month outcome."""
    months = sorted(accounts["month"].unique())
    snapshot = months[max(0, len(months) - HORIZON - 1)]
    later = [m for m in months if m > snapshot][:HORIZON]
    now = accounts[(accounts["month"] == snapshot) & accounts["status"].isin(["NORMAL", "OVERDUE"])]
    grouped = now.groupby("borrower")
    features = pd.DataFrame(
        {
            "institutions": grouped["institution"].nunique(),
            "accounts": grouped["account"].nunique(),
            "has_cash": grouped["product"].agg(lambda p: int((p == "CASH").any())),
            "has_bnpl": grouped["product"].agg(lambda p: int((p == "BNPL").any())),
            "has_revolving": grouped["product"].agg(lambda p: int((p == "REVOLVING").any())),
            "log_balance": np.log1p(grouped["balance"].sum()),
            "in_arrears": grouped["dpd"].agg(lambda d: int((d > 0).any())),
            "worst_now": grouped["dpd"].max(),
        }
    )
    features = features[features["worst_now"] < 90].drop(columns="worst_now")
    ahead = accounts[accounts["month"].isin(later)].groupby("borrower")["dpd"].max()
    features["bad90"] = (ahead.reindex(features.index).fillna(0) >= 90).astype(int)
    return features


def fit(data_dir: Path) -> Any:
    """The fitted logit (statsmodels) on the extract in ``data_dir``."""
    accounts = pd.read_parquet(data_dir / "accounts.parquet")
    return smf.logit(FORMULA, data=sample(accounts)).fit(disp=0, maxiter=200)


if __name__ == "__main__":
    here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd().parent / "data"
    print(fit(here).summary())
