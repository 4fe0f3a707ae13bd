"""GB/T 2260 region codes: which first six digits a resident ID number (RIC) may carry.

The table is python-stdnum's ``cn/loc`` (every county code GB/T 2260 has listed, with the years
each was in use). The one rule read from it here:

* **A RIC's region is valid when GB/T 2260 has ever listed the code.** The first six digits are
  the code of the household-registration place *when the number was issued* (18-digit numbers
  date from 1999), not of the birth place at birth: a person born in 1985 in what became
  Shenzhen Bao'an (440306, listed from 1992) carries 440306. python-stdnum's
  ``stdnum.cn.ric.validate`` demands that the code existed in the birth year, which real numbers
  do not obey, so that check is not used anywhere (DOMAIN.md §2, §7).

Every identity check — ingest's column-wise check and the API's quick
check (:mod:`exchange.identity`), :func:`exchange.pseudonym.check_id` — reads this module, so
they cannot disagree about a region.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from stdnum import numdb


@lru_cache(maxsize=1)
def listed_codes() -> np.ndarray:
    """Every 6-digit county-level code GB/T 2260 has ever listed, sorted (int64)."""
    codes: set[int] = set()
    for _length, low, _high, _props, children in numdb.get("cn/loc").prefixes:
        for _clen, clow, chigh, _cprops, _grand in children:
            codes.update(int(f"{low}{county:04d}") for county in range(int(clow), int(chigh) + 1))
    return np.array(sorted(codes), dtype=np.int64)


@lru_cache(maxsize=1)
def listed_mask() -> np.ndarray:
    """A 1,000,000-entry lookup: ``listed_mask()[code]`` is whether ``code`` was ever listed."""
    mask = np.zeros(1_000_000, dtype=bool)
    mask[listed_codes()] = True
    return mask


def is_listed(code: int) -> bool:
    """Whether the 6-digit region ``code`` was ever listed by GB/T 2260."""
    return 0 <= code < 1_000_000 and bool(listed_mask()[code])


@lru_cache(maxsize=1)
def provinces() -> frozenset[str]:
    """Two-digit GB/T 2260 province codes."""
    return frozenset(prefix[1] for prefix in numdb.get("cn/loc").prefixes)
