"""Alembic environment of petsard-status.

The package runs migrations itself (``petsard_status.store.migrate``) and hands
this script an open connection, already inside the transaction that holds the
store's migration lock, through ``config.attributes["connection"]``.
"""

from alembic import context
from sqlalchemy import create_engine

connection = context.config.attributes.get("connection")

if connection is None:
    # Plain `alembic -c ... upgrade head` on a URL: used by people, not by the package.
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url, or use: petsard-status db upgrade --db URL")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, render_as_batch=True)
        context.run_migrations()
    engine.dispose()
else:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
