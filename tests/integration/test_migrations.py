"""The schema migration: versioned, idempotent, safe to run twice at once."""

from conftest import run_together
from people_api import db, migrations


def tables(settings) -> set[str]:
    with db.connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        return {name for (name,) in cur.fetchall()}


def test_migrate_applies_every_version_once(fresh_database):
    with db.connect(fresh_database) as conn:
        assert migrations.migrate(conn) == sorted(migrations.MIGRATIONS)
        assert migrations.migrate(conn) == []
    assert {"people", "imports", "schema_migrations"} <= tables(fresh_database)


def test_concurrent_runners_apply_each_version_once(fresh_database):
    applied: list[list[int]] = []

    def run() -> None:
        with db.connect(fresh_database) as conn:
            applied.append(migrations.migrate(conn))

    run_together(run, [()] * 4)
    assert sorted(applied) == [[], [], [], sorted(migrations.MIGRATIONS)]


def test_the_command_creates_the_database_and_is_idempotent(fresh_database, monkeypatch, capsys):
    with db.connect(fresh_database, database=None) as admin, admin.cursor() as cur:
        cur.execute(f"DROP DATABASE `{fresh_database.database}`")
    monkeypatch.setattr("sys.argv", ["migrations", "--create-database"])
    migrations.main()
    migrations.main()
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(f"applied {sorted(migrations.MIGRATIONS)}; schema at version {max(migrations.MIGRATIONS)}")
    assert "applied nothing" in out[1]
    assert "people" in tables(fresh_database)


def test_text_columns_are_utf8mb4(database):
    with db.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
            " AND TABLE_NAME = 'people' AND CHARACTER_SET_NAME IS NOT NULL AND CHARACTER_SET_NAME <> 'utf8mb4'"
        )
        assert cur.fetchone()[0] == 0


def test_a_migration_in_another_database_of_the_server_does_not_wait(database, fresh_database):
    # Given a runner holding the migration lock of one database (GET_LOCK names are server-wide)
    with db.connect(database) as holder:
        assert db.get_lock(holder, migrations.LOCK_NAME, 0)

        # When another database on the same server is migrated
        with db.connect(fresh_database) as conn:
            applied = migrations.migrate(conn)

    # Then it was not held up by the first one's lock
    assert applied == sorted(migrations.MIGRATIONS)
