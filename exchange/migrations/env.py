"""Alembic environment of the member registry.

:func:`exchange.registry.db.upgrade` passes an open connection in ``config.attributes``; without
one (e.g. ``alembic.command.revision(..., autogenerate=True)``) the URL in the config is used
through :func:`exchange.registry.db.engine`, so SQLite gets the same pragmas. ``render_as_batch``
keeps future ALTERs working on SQLite.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from exchange.registry.db import engine
from exchange.registry.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url, "no connection and no sqlalchemy.url in the alembic config"
    with engine(url).begin() as conn:
        _run(conn)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
