"""The database connection: one per warm container, opened lazily, re-opened when it drops.

One per thread, in fact: Lambda has one, but the local stack serves requests on several.

This module and the `*_store` modules are the only code that touches pymysql.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pymysql
from pymysql.cursors import Cursor

from people_api.config import DatabaseSettings, database_settings
from people_api.observability import logger

# Server-side codes that mean "no usable connection" rather than "bad statement".
_UNAVAILABLE_SERVER_CODES = {1040, 1045, 1049, 1053, 1077, 1152, 1158, 1159, 1160, 1161, 1927, 4031}

_local = threading.local()


class DatabaseUnavailable(Exception):
    """The database cannot be reached now; the next call tries again with a new connection."""


def connect(settings: DatabaseSettings, **overrides) -> pymysql.Connection:
    options = dict(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        database=settings.database,
        charset="utf8mb4",
        autocommit=True,  # reads never see a stale snapshot; writes use transaction()
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        write_timeout=settings.write_timeout,
        local_infile=settings.local_infile,
    )
    return pymysql.connect(**(options | overrides))


def connection() -> pymysql.Connection:
    """This thread's connection, checked with a ping and re-opened if it dropped."""
    conn = getattr(_local, "connection", None)
    if conn is not None:
        try:
            conn.ping(reconnect=False)
            return conn
        except pymysql.Error:
            close()
    _local.connection = connect(database_settings())
    return _local.connection


def close() -> None:
    conn = getattr(_local, "connection", None)
    _local.connection = None
    if conn is not None:
        with suppress(pymysql.Error):  # already broken: nothing left to close
            conn.close()


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, pymysql.err.InterfaceError):
        return True
    if isinstance(error, pymysql.err.OperationalError):
        code = error.args[0] if error.args else 0
        return code >= 2000 or code in _UNAVAILABLE_SERVER_CODES or code == 0
    return False


@contextmanager
def cursor() -> Iterator[Cursor]:
    """A cursor in autocommit mode; connection failures become DatabaseUnavailable."""
    with _unavailable_as_domain_error(), connection().cursor() as cur:
        yield cur


@contextmanager
def transaction() -> Iterator[Cursor]:
    """A cursor inside one transaction: committed at the end, rolled back on any error."""
    with _unavailable_as_domain_error():
        conn = connection()
        conn.begin()
        try:
            with conn.cursor() as cur:
                yield cur
            conn.commit()
        except BaseException:
            _rollback_quietly(conn)
            raise


def _rollback_quietly(conn: pymysql.Connection) -> None:
    try:
        conn.rollback()
    except pymysql.Error:
        close()  # the server rolls back a transaction whose connection is gone


@contextmanager
def _unavailable_as_domain_error() -> Iterator[None]:
    try:
        yield
    except pymysql.Error as error:
        if not is_unavailable(error):
            raise
        close()
        logger.warning("database unavailable", exc_info=True)
        raise DatabaseUnavailable("the database is unavailable; try again shortly") from error
