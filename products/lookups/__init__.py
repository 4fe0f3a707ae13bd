"""The two single-borrower lookups: :mod:`products.lookups.multi_loan` (borrower-level report)
and :mod:`products.lookups.time_series` (24-month grid), both computed in Python from one
:class:`~products.lookups.borrower.BorrowerData` fetched by one warehouse round trip.
"""
