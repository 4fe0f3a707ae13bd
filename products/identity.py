"""A fast path for checking one identity number per request.

:func:`quick_valid` answers ``True`` only for a number :func:`exchange.pseudonym.check_id`
accepts: a canonical RIC (18 ASCII characters) whose check digit, birth date and region hold,
the region one GB/T 2260 has ever listed (:mod:`exchange.regions`, the table ``check_id`` reads). Anything else — other documents, a RIC in another
form or failing a check — answers ``False``, and the caller asks ``check_id`` for the precise
problem, so refusals and their codes are exactly ``check_id``'s.
"""

from __future__ import annotations

import datetime as dt

from stdnum.cn import ric as _ric

from exchange import regions
from exchange.pseudonym import years_before


def quick_valid(id_type: str, id_number: str) -> bool:
    if id_type != "RIC" or len(id_number) != 18 or not id_number.isascii():
        return False
    n = id_number.upper()
    if not n[:17].isdigit() or n[17] != _ric.calc_check_digit(n):
        return False
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
        today = dt.date.today()
        limit = years_before(today, 16)
    except ValueError:
        return False
    if born > limit or born.year < today.year - 120:
        return False
    return regions.is_listed(int(n[:6]))


def warm() -> None:
    """Build the region table once (≈ 0.1 s) at start rather than in the first request."""
    regions.is_listed(110105)
