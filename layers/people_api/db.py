"""The database connection: one per warm container, opened lazily, re-opened when it drops.

No ping before a request (a round trip each): a connection the server closed while it sat idle shows
as a socket with something to read (its end of stream, or the error the server said why with), which
costs a system call to see, and is opened again before anything is sent. A connection lost during a
statement is sent again once on a new connection for reads (`read_cursor`); a write whose outcome is
unknown is never sent again: DatabaseUnavailable (503).

One per thread, in fact: a Lambda invocation uses one, and what reads the database from threads of
its own (devstack's import progress view, tests) gets connections of their own.
Connections run in autocommit (each statement commits by itself, and reads never see a stale
snapshot); the CSV import, all or nothing, runs inside `transaction()`.

This module and the `*_store` modules are the only code that touches pymysql.
"""

from __future__ import annotations

import select
import ssl  # PyMySQL imports it anyway
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pymysql
from pymysql.constants import CR, ER
from pymysql.cursors import Cursor

from people_api.config import DatabaseSettings, database_settings
from people_api.errors import DatabaseUnavailable
from people_api.observability import logger

# Server-side codes that mean "no usable connection" rather than "bad statement".
_UNAVAILABLE_SERVER_CODES = {
    ER.CON_COUNT_ERROR,
    ER.ACCESS_DENIED_ERROR,
    ER.BAD_DB_ERROR,
    ER.SERVER_SHUTDOWN,
    ER.NORMAL_SHUTDOWN,
    ER.ABORTING_CONNECTION,
    ER.NET_READ_ERROR,
    ER.NET_READ_INTERRUPTED,
    ER.NET_ERROR_ON_WRITE,
    ER.NET_WRITE_INTERRUPTED,
    1927,  # MariaDB's ER_CONNECTION_KILLED (KILL CONNECTION); pymysql's ER has no name for it
    4031,  # MySQL 8's ER_CLIENT_INTERACTION_TIMEOUT (idle past wait_timeout); pymysql's ER has no name for it
}

_local = threading.local()


def connect(settings: DatabaseSettings, **overrides) -> pymysql.Connection:
    options = dict(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        database=settings.database,
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        write_timeout=settings.write_timeout,
        local_infile=settings.local_infile,
    )
    if settings.tls:
        # A context of our own: PyMySQL's ssl_verify_* options skip the host name check when no CA
        # file is given. This one checks the chain against the system's CAs and the host name, and
        # PyMySQL then refuses a server that does not offer TLS instead of falling back.
        options["ssl"] = ssl.create_default_context()
    return _Connection(**(options | overrides))


class _Connection(pymysql.Connection):
    """PyMySQL's connection, without reading the system's CA store for a certificate it will not check.

    Asked for no TLS, PyMySQL 1.2 still uses it when the server offers it ("preferred", as the mysql client
    does), unverified; but it builds that context with `ssl.create_default_context()`, which reads every CA of
    the system before verification is turned off: 20 to 30 ms of CPU, most of a reading function's first call
    (README, Speed). This context is the one PyMySQL ends up with, minus the CAs nobody reads.
    """

    def _create_ssl_ctx(self, sslp):
        if sslp:  # DB_TLS's context, or ssl_* options
            return super()._create_ssl_ctx(sslp)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context


def connection() -> pymysql.Connection:
    """This thread's connection, re-opened if the server closed it while it was idle."""
    conn = getattr(_local, "connection", None)
    if conn is not None and not _closed_by_server(conn):
        return conn
    close()
    _local.connection = connect(database_settings())
    return _local.connection


def _closed_by_server(conn: pymysql.Connection) -> bool:
    """An idle connection whose socket has something to read: the server closed it (KILL, wait_timeout, restart).

    PyMySQL has no public handle on its socket; `_sock` is None once it has closed it itself.
    """
    sock = conn._sock
    if sock is None:
        return True
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))


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
        return code >= CR.CR_ERROR_FIRST or code in _UNAVAILABLE_SERVER_CODES or code == 0
    return False


@contextmanager
def cursor() -> Iterator[Cursor]:
    """A cursor in autocommit mode; connection failures become DatabaseUnavailable."""
    with _unavailable_as_domain_error(), connection().cursor() as cur:
        yield cur


@contextmanager
def read_cursor() -> Iterator[Cursor]:
    """Like `cursor()`, for statements that change nothing: one that loses its connection is sent again, once."""
    with _unavailable_as_domain_error(), connection().cursor(_ReadCursor) as cur:
        yield cur


class _ReadCursor(Cursor):
    """A cursor whose statements, reads only, are sent again once on a new connection when theirs is lost."""

    def execute(self, query, args=None):
        try:
            return super().execute(query, args)
        except pymysql.Error as error:
            # A read that timed out is not sent again: it would only wait as long once more.
            if not is_unavailable(error) or isinstance(error.__context__, TimeoutError):
                raise
        logger.info("database connection lost during a read; reading again on a new connection")
        with suppress(pymysql.Error):  # what is left of the old one
            self.connection.close()
        self.connection.connect()
        return super().execute(query, args)


@contextmanager
def transaction(conn: pymysql.Connection) -> Iterator[Cursor]:
    """A cursor inside one transaction on `conn`: committed at the end, rolled back on any error.

    Driver errors pass through as they are: the import records them as the cause of its failure.
    """
    conn.begin()
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        with suppress(pymysql.Error):  # a connection that dropped: the server rolls back by itself
            conn.rollback()
        raise


# GET_LOCK names are server-wide, while what they guard (a schema, an import record) lives in one
# database: scoping a name to the database keeps two stacks, or two test runs, that share a server
# from waiting on each other. The hash keeps any name within MySQL's 64 characters.
_SCOPED_LOCK_NAME = "CONCAT(%s, '@', LEFT(SHA2(DATABASE(), 256), 16))"


def get_lock(conn: pymysql.Connection, name: str, wait_seconds: int) -> bool:
    """True once this connection holds the named lock of its database (False after `wait_seconds`)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT GET_LOCK({_SCOPED_LOCK_NAME}, %s)", (name, wait_seconds))
        return cur.fetchone()[0] == 1


def release_lock(conn: pymysql.Connection, name: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DO RELEASE_LOCK({_SCOPED_LOCK_NAME})", (name,))


def release_lock_if_connected(conn: pymysql.Connection, name: str) -> None:
    """release_lock, where a dropped connection has released the lock with it already."""
    with suppress(pymysql.Error):
        release_lock(conn, name)


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
