"""Versioned, idempotent schema migrations, for MySQL 8 and MariaDB 10.11.

Run by the local stack and the tests, by `python -m people_api.migrations`, and in
AWS by the Migrate function. Each version runs once, under a named lock so that
concurrent runners wait for each other.
"""

from __future__ import annotations

import argparse
import re

import pymysql

from people_api.config import AppUser, DatabaseSettings, database_settings
from people_api.db import connect, get_lock, release_lock

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE IF NOT EXISTS people (
            id INT NOT NULL AUTO_INCREMENT,
            first_name VARCHAR(100) NULL,
            last_name VARCHAR(100) NULL,
            last_name_key VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
            age TINYINT UNSIGNED NULL,
            github_account VARCHAR(39) NULL,
            third_grade_graduation DATE NULL,
            PRIMARY KEY (id),
            KEY people_by_age (age, id),
            KEY people_by_graduation (age, third_grade_graduation),
            KEY people_by_last_name (last_name_key, id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
        """,
    ),
    2: (
        """
        CREATE TABLE IF NOT EXISTS imports (
            id INT NOT NULL AUTO_INCREMENT,
            bucket VARCHAR(63) NOT NULL,
            object_key VARCHAR(1024) NOT NULL,
            object_key_hash CHAR(64) CHARACTER SET ascii NOT NULL,
            etag VARCHAR(64) CHARACTER SET ascii NOT NULL,
            version_id VARCHAR(1024) NULL,
            size_bytes BIGINT NOT NULL,
            status VARCHAR(16) CHARACTER SET ascii NOT NULL,
            message VARCHAR(1000) NULL,
            rows_read INT NOT NULL DEFAULT 0,
            rows_inserted INT NOT NULL DEFAULT 0,
            rows_duplicate INT NOT NULL DEFAULT 0,
            rows_rejected INT NOT NULL DEFAULT 0,
            row_errors LONGTEXT NULL,
            attempts INT NOT NULL DEFAULT 0,
            report_key VARCHAR(1100) NULL,
            created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
            started_at DATETIME(3) NULL,
            finished_at DATETIME(3) NULL,
            PRIMARY KEY (id),
            UNIQUE KEY imports_by_object (bucket, object_key_hash, etag)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
        """,
    ),
    # Ids (issue 7): BIGINT, so that the ids the database assigns after a client's largest chosen id
    # (at most person.MAX_CHOSEN_ID) have room; every id stays below 2^53 (person.MAX_ID).
    3: (
        "ALTER TABLE people MODIFY id BIGINT NOT NULL AUTO_INCREMENT",
        "ALTER TABLE imports MODIFY id BIGINT NOT NULL AUTO_INCREMENT",
    ),
    4: (
        # A version per person for ETags and If-Match; when it was written, by the database's UTC clock
        # whatever the session's time zone (no SET time_zone per connection, which RDS Proxy would pin).
        # Expression defaults: MySQL 8.0.13+ (WL#9418, nondeterministic functions allowed), MariaDB 10.2+.
        # Existing rows get the time of the migration.
        """
        ALTER TABLE people
            ADD COLUMN version INT UNSIGNED NOT NULL DEFAULT 1,
            ADD COLUMN created_at DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
            ADD COLUMN updated_at DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6))
        """,
    ),
    5: (
        """
        ALTER TABLE imports
            ADD COLUMN bytes_read BIGINT NOT NULL DEFAULT 0 AFTER rows_rejected,
            ADD COLUMN progress_at DATETIME(3) NULL AFTER bytes_read
        """,
    ),
    # The daily purge of import records (imports/store.py, purge_expired) finds them by when they finished:
    # without this index each of its DELETEs would scan, and lock, the whole table.
    6: ("ALTER TABLE imports ADD KEY imports_by_finished_at (finished_at)",),
    # Import modes (issue 17, imports/mode.py): each import's mode, whether it was a dry run, what became of its
    # rows beyond inserted and duplicate, and its first changes (ids and field names, never values).
    7: (
        """
        ALTER TABLE imports
            ADD COLUMN mode VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT 'add' AFTER size_bytes,
            ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT FALSE AFTER mode,
            ADD COLUMN rows_updated INT NOT NULL DEFAULT 0 AFTER rows_inserted,
            ADD COLUMN rows_unchanged INT NOT NULL DEFAULT 0 AFTER rows_updated,
            ADD COLUMN rows_deleted INT NOT NULL DEFAULT 0 AFTER rows_unchanged,
            ADD COLUMN rows_conflict INT NOT NULL DEFAULT 0 AFTER rows_deleted,
            ADD COLUMN changes LONGTEXT NULL AFTER row_errors
        """,
    ),
    # The export (exports/, docs/export.md): one record per export, its file in the export bucket. No caller is
    # kept (the imports keep none either; the request's log line names the caller's sub). The daily purge finds
    # the records by when they finished, as for the imports (migration 6).
    8: (
        """
        CREATE TABLE IF NOT EXISTS exports (
            id BIGINT NOT NULL AUTO_INCREMENT,
            status VARCHAR(16) CHARACTER SET ascii NOT NULL,
            message VARCHAR(1000) NULL,
            rows_written BIGINT NOT NULL DEFAULT 0,
            bytes_written BIGINT NOT NULL DEFAULT 0,
            object_key VARCHAR(200) CHARACTER SET ascii NULL,
            attempts INT NOT NULL DEFAULT 0,
            created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
            started_at DATETIME(3) NULL,
            progress_at DATETIME(3) NULL,
            finished_at DATETIME(3) NULL,
            PRIMARY KEY (id),
            KEY exports_by_finished_at (finished_at)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
        """,
    ),
    # The change feed (people/changes.py, docs/changes.md): a change per writing transaction, its place in the
    # feed (`seq`) given at commit from a one-row counter; each person row names the change that last wrote it,
    # each erased id keeps a tombstone. The people there before the feed are the genesis change's (id 1, seq 1);
    # change_id then loses its default, so a write that does not stamp its change fails instead of hiding.
    9: (
        """
        CREATE TABLE IF NOT EXISTS changes (
            id BIGINT NOT NULL AUTO_INCREMENT,
            seq BIGINT NULL,
            committed_at DATETIME(6) NULL,
            row_count BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (id),
            UNIQUE KEY changes_by_seq (seq),
            KEY changes_by_committed_at (committed_at, seq)
        ) ENGINE=InnoDB
        """,
        """
        CREATE TABLE IF NOT EXISTS change_counter (
            id TINYINT NOT NULL PRIMARY KEY,
            last_seq BIGINT NOT NULL,
            horizon_seq BIGINT NOT NULL
        ) ENGINE=InnoDB
        """,
        "INSERT INTO change_counter (id, last_seq, horizon_seq) VALUES (1, 1, 0)",
        "INSERT INTO changes (id, seq, committed_at, row_count) SELECT 1, 1, UTC_TIMESTAMP(6), COUNT(*) FROM people",
        """
        CREATE TABLE IF NOT EXISTS erasures (
            person_id BIGINT NOT NULL,
            change_id BIGINT NOT NULL,
            PRIMARY KEY (person_id),
            KEY erasures_by_change (change_id, person_id)
        ) ENGINE=InnoDB
        """,
        "ALTER TABLE people ADD COLUMN change_id BIGINT NOT NULL DEFAULT 1, ADD KEY people_by_change (change_id, id)",
        "ALTER TABLE people ALTER COLUMN change_id DROP DEFAULT",
    ),
}

LOCK_NAME = "people_api.migrations"
_LOCK_TIMEOUT_SECONDS = 60


def migrate(conn: pymysql.Connection) -> list[int]:
    """Apply every version not yet applied; return the versions applied now."""
    if not get_lock(conn, LOCK_NAME, _LOCK_TIMEOUT_SECONDS):
        raise TimeoutError("another migration holds the lock")
    with conn.cursor() as cur:
        try:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INT NOT NULL PRIMARY KEY,"
                " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {version for (version,) in cur.fetchall()}
            applied = []
            for version, statements in sorted(MIGRATIONS.items()):
                if version in done:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied.append(version)
            return applied
        finally:
            release_lock(conn, LOCK_NAME)


# What the API and the import need: rows, not schema. LOAD DATA LOCAL needs INSERT only (FILE is for
# files on the server) and GET_LOCK needs no privilege; an upsert's or a mirror's staging table is a
# TEMPORARY one, the session's own (CREATE TEMPORARY TABLES; its rows need no other privilege).
APP_USER_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES"
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_$]{1,64}")


def ensure_app_user(conn: pymysql.Connection, database: str, user: AppUser) -> None:
    """Create (or re-key) the account the API and the import use, with row privileges on `database` only.

    Run by the owner after the migrations on every deploy: the password follows the secret, and the
    grant covers tables that later migrations add.
    """
    if not _DATABASE_NAME.fullmatch(database):
        raise ValueError(f"database name {database!r} is not a plain identifier")
    account = (user.username, "%")
    with conn.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (*account, user.password))
        cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (*account, user.password))
        # An identifier cannot be a parameter; the name was checked to be plain above.
        cur.execute(f"GRANT {APP_USER_PRIVILEGES} ON `{database}`.* TO %s@%s", account)


def create_database(settings: DatabaseSettings) -> None:
    """CREATE DATABASE IF NOT EXISTS, for a local server (in AWS the stack's RDS has one)."""
    conn = connect(settings, database=None)
    try:
        with conn.cursor() as cur:
            name = settings.database.replace("`", "``")
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Apply the People API schema migrations to DB_NAME.")
    parser.add_argument("--create-database", action="store_true", help="create DB_NAME first if it is missing")
    args = parser.parse_args()
    settings = database_settings()
    if args.create_database:
        create_database(settings)
    conn = connect(settings)
    try:
        applied = migrate(conn)
    finally:
        conn.close()
    print(f"{settings.database}: applied {applied or 'nothing'}; schema at version {max(MIGRATIONS)}")


if __name__ == "__main__":
    main()
