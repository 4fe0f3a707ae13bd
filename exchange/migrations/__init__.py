"""Alembic migrations of the member registry (run by :func:`exchange.registry.db.upgrade`).

One file per revision under ``versions/``, numbered ``0001``, ``0002`` …; each is frozen once
released (types written out as plain SQLAlchemy types, never imported from the models) and has a
working ``downgrade``. A test upgrades a database from the first revision with data in it and
compares the models with the result.
"""
