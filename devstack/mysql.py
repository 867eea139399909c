"""MySQL for the stack: the server DB_* names, else the compose one when Docker runs; the database migrated."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pymysql
from pymysql.constants import CR

from devstack import logs
from people_api import db, migrations
from people_api.config import DatabaseSettings

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
COMPOSE_SERVICE = "mysql"
COMPOSE_START_TIMEOUT_SECONDS = 120
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Client-side codes for "nothing answers there (yet)", as opposed to a server that refuses us.
_NO_SERVER_CODES = {CR.CR_CONN_HOST_ERROR, CR.CR_UNKNOWN_HOST, CR.CR_SERVER_GONE_ERROR, CR.CR_SERVER_LOST}


class NoMySQL(Exception):
    """No server to use; the message says how to get one."""


def ensure_database(settings: DatabaseSettings) -> bool:
    """Make DB_NAME exist at its latest schema version; True if this started the compose MySQL."""
    started = False
    if not _answers(settings):
        if settings.host not in LOCAL_HOSTS or not _docker_engine_runs():
            raise NoMySQL(_how_to_get_mysql(settings))
        _compose("up", "-d", COMPOSE_SERVICE)
        started = True
        logs.say(f"waiting for the compose MySQL on {settings.host}:{settings.port}")
        deadline = time.monotonic() + COMPOSE_START_TIMEOUT_SECONDS
        while not _answers(settings):
            if time.monotonic() > deadline:
                raise NoMySQL(
                    f"the compose MySQL did not accept connections within {COMPOSE_START_TIMEOUT_SECONDS} s;"
                    f" see `docker compose -f {COMPOSE_FILE} logs {COMPOSE_SERVICE}`"
                )
            time.sleep(1)
    migrations.create_database(settings)
    conn = db.connect(settings)
    try:
        applied = migrations.migrate(conn)
    finally:
        conn.close()
    logs.say(
        f"MySQL {settings.user}@{settings.host}:{settings.port}, database {settings.database}"
        f" (migrations applied now: {applied or 'none'})"
    )
    return started


def stop_compose_mysql() -> None:
    """Stop (not remove) the compose MySQL: its data stays in its volume for the next `make dev`."""
    _compose("stop", COMPOSE_SERVICE)


def _answers(settings: DatabaseSettings) -> bool:
    try:
        db.connect(settings, database=None, connect_timeout=2, read_timeout=2).close()
    except pymysql.err.OperationalError as error:
        if error.args and error.args[0] in _NO_SERVER_CODES:
            return False
        raise NoMySQL(
            f"MySQL at {settings.host}:{settings.port} answers but refuses us: {error}."
            " Set DB_USER and DB_PASSWORD (see docs/dev.md)."
        ) from error
    return True


def _docker_engine_runs() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def _compose(*args: str) -> None:
    command = ["docker", "compose", "-f", str(COMPOSE_FILE), *args]
    logs.say(" ".join(command))
    if subprocess.run(command).returncode != 0:
        raise NoMySQL(f"`{' '.join(command)}` failed (output above)")


def _how_to_get_mysql(settings: DatabaseSettings) -> str:
    where = f"{settings.host}:{settings.port}"
    return "\n".join(
        [
            f"No MySQL server answers at {where}, and there is no running Docker engine to start one.",
            "Any one of these gets you one:",
            "  - install and start MariaDB or MySQL here, e.g. on Debian/Ubuntu:",
            "      sudo apt-get install -y mariadb-server && sudo service mariadb start",
            '      sudo mariadb -e "ALTER USER root@localhost'
            " IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')\"",
            "  - start Docker (the docker-compose.yml MySQL 8 is then started for you by `make dev`),",
            "    or run it yourself: docker compose up -d mysql",
            "  - use a server you already have: DB_HOST, DB_PORT, DB_USER, DB_PASSWORD (and DB_NAME) say where,",
            "    e.g. DB_HOST=10.0.0.5 DB_USER=me DB_PASSWORD=secret make dev",
            "Then run `make dev` again.",
        ]
    )
