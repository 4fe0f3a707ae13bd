"""The exchange's shared core: settings, member registry, pseudonymisation, audit chain, CLI.

``exchange`` is the only package that talks to the registry database (SQLAlchemy, alembic).
Every other stage imports its settings and errors from here.
"""
