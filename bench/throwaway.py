"""The benchmarks' database: a new one under DB_NAME at the schema's latest version, filled, dropped after the run."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from people_api import db, migrations
from people_api.config import DatabaseSettings, database_settings
from people_api.people import store as people_store
from people_api.people.changes import GENESIS
from people_api.people.person import NewPerson


@contextmanager
def throwaway_database() -> Iterator[DatabaseSettings]:
    """Its settings; DB_NAME names it for the code measured (the layer reads its settings from there).

    CURSOR_KEY too, unless set: the reads sign their page cursors with it (and a function refuses to start without).
    """
    os.environ.pop("DB_SECRET_ARN", None)  # the local server's own credentials, never a deployed secret
    os.environ.setdefault("CURSOR_KEY", secrets.token_urlsafe(32))
    os.environ["DB_NAME"] = f"people_bench_{uuid.uuid4().hex[:12]}"
    settings = database_settings()
    migrations.create_database(settings)
    try:
        with db.connect(settings) as conn:
            migrations.migrate(conn)
        yield settings
    finally:
        db.close()
        with db.connect(settings, database=None) as admin, admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{settings.database}`")


def fill_people(rows: int, person_of: Callable[[int], NewPerson], batch_size: int = 20_000) -> None:
    """People 1 to `rows`, as `person_of(id)` makes them, in the change feed's first change (as if migrated)."""
    columns, placeholders = people_store.INSERT_COLUMNS, people_store.INSERT_PLACEHOLDERS
    for start in range(1, rows + 1, batch_size):
        ids = range(start, min(start + batch_size, rows + 1))
        batch = [people_store.insert_row(person_of(person_id), GENESIS) for person_id in ids]
        with db.transaction(db.connection()) as cur:
            cur.executemany(f"INSERT INTO people ({columns}) VALUES {placeholders}", batch)
