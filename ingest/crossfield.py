"""Cross-field rules (``X3xx``) of an ``A`` record and the within-file rule (``W401``).

Invariants:

* A cross-field rule is checked only where every value it reads is valid (typed values are null
  otherwise), so a bad date or amount is reported once, by its field rule, not again here.
* Cross-field rules apply to ``A`` records; ``X306`` (as_of_date after the file date) also to
  ``D`` records, since a deletion is dated too.
* ``W401`` compares the raw text of (account_id, as_of_date): every copy of a repeated pair is
  rejected, each naming the lines of the others, because none of them can be preferred.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.fields import DECIMAL, Typed, flag
from ingest.issues import IssueSink
from ingest.spec import ENDED

_ZERO = pa.scalar(Decimal(0), DECIMAL)


def check_cross_fields(
    columns: dict[str, pa.Array], typed: Typed, sink: IssueSink, file_date: dt.date | None
) -> None:
    v, ok, empty = typed.values, typed.ok, typed.empty
    upsert = flag(pc.equal(columns["record_type"], "A"))
    product, status = columns["product"], columns["status"]
    revolving = upsert & ok["product"] & flag(pc.equal(product, "REVOLVING"))
    fixed_term = upsert & ok["product"] & ~revolving
    opened, as_of, maturity, closed = (
        v[c] for c in ("opened_date", "as_of_date", "maturity_date", "closed_date")
    )

    def where(condition: pa.Array) -> np.ndarray:
        return upsert & flag(condition)

    sink.add_rows("X301", where(pc.greater(opened, as_of)), value=opened, as_of_date=as_of)
    sink.add_rows("X302", where(pc.less(maturity, opened)), value=maturity, opened_date=opened)
    sink.add_rows("X303", revolving & ~empty["maturity_date"], value=columns["maturity_date"])
    installments = v["installments"]
    sink.add_rows(
        "X304", fixed_term & flag(pc.equal(installments, 0)), value=installments, product=product
    )
    sink.add_rows("X305", revolving & flag(pc.greater(installments, 0)), value=installments)
    if file_date is not None:
        late = flag(pc.greater(as_of, pa.scalar(file_date, pa.date32())))
        sink.add_rows("X306", late, value=as_of, file_date=file_date.isoformat())
    balance, overdue, overdue_principal = v["balance"], v["overdue_amount"], v["overdue_principal"]
    sink.add_rows(
        "X307",
        where(pc.greater(overdue_principal, balance)),
        value=overdue_principal,
        balance=balance,
    )
    sink.add_rows(
        "X308",
        where(pc.greater(overdue_principal, overdue)),
        value=overdue_principal,
        overdue_amount=overdue,
    )
    dpd = v["dpd"]
    late_days = flag(pc.greater(dpd, 0))
    no_late_days = flag(pc.equal(dpd, 0))
    sink.add_rows(
        "X309",
        upsert & late_days & flag(pc.equal(overdue, _ZERO)),
        value=dpd,
        overdue_amount=overdue,
    )
    sink.add_rows("X310", upsert & no_late_days & flag(pc.greater(overdue, _ZERO)), value=overdue)
    is_status = {
        s: flag(pc.equal(status, s)) for s in ("NORMAL", "OVERDUE", "CLOSED", "WRITTEN_OFF")
    }
    sink.add_rows("X311", upsert & is_status["OVERDUE"] & no_late_days, value=status)
    sink.add_rows("X312", upsert & is_status["NORMAL"] & late_days, value=status, dpd=dpd)
    sink.add_rows(
        "X313", upsert & is_status["CLOSED"] & flag(pc.greater(balance, _ZERO)), value=balance
    )
    ended = upsert & flag(pc.is_in(status, value_set=pa.array(ENDED)))
    sink.add_rows("X314", ended & empty["closed_date"], value="", status=status)
    sink.add_rows("X315", upsert & is_status["WRITTEN_OFF"] & flag(pc.less(dpd, 90)), value=dpd)
    outside = flag(pc.or_kleene(pc.less(closed, opened), pc.greater(closed, as_of)))
    sink.add_rows("X316", upsert & outside, value=closed, opened_date=opened, as_of_date=as_of)
    open_account = upsert & (is_status["NORMAL"] | is_status["OVERDUE"])
    sink.add_rows(
        "X317", open_account & ~empty["closed_date"], value=columns["closed_date"], status=status
    )


def check_duplicates(columns: dict[str, pa.Array], lines: np.ndarray, sink: IssueSink) -> None:
    """W401 for every record whose (account_id, as_of_date) is in the file more than once."""
    account, as_of = columns["account_id"], columns["as_of_date"]
    n = len(account)
    if n < 2:
        return
    candidates = ~flag(pc.equal(pc.binary_length(account), 0))
    if len(pc.unique(account)) == n:
        return
    table = pa.table({"a": account, "d": as_of, "row": pa.array(np.arange(n))}).filter(
        pa.array(candidates)
    )
    groups = table.group_by(["a", "d"], use_threads=False).aggregate([("row", "list")])
    rows_of = groups.column("row_list")
    sizes = np.asarray(pc.list_value_length(rows_of))
    repeated = rows_of.filter(pa.array(sizes > 1))
    if len(repeated) == 0:
        return
    flat = np.asarray(pc.list_flatten(repeated))
    group = np.asarray(pc.list_parent_indices(repeated))
    group_sizes = np.bincount(group)
    texts = []
    for rows in repeated.to_pylist():
        shown = ", ".join(str(lines[r]) for r in rows[:10])
        texts.append(shown + (f" and {len(rows) - 10} more" if len(rows) > 10 else ""))
    count = np.zeros(n, dtype=np.int64)
    listed = np.array([""] * n, dtype=object)
    count[flat] = group_sizes[group]
    listed[flat] = np.array(texts, dtype=object)[group]
    sink.add_rows(
        "W401",
        flat,
        value=account,
        as_of_date=as_of,
        count=pa.array(count).cast(pa.string()),
        lines=pa.array(listed, pa.string()),
    )
