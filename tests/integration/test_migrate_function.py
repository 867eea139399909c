from conftest import invoke, load_event
from people_api import db
from people_api.migrations import MIGRATIONS


def test_migrate_function_reports_the_schema_version(fresh_database):
    # Given a database without tables, the function applies every version, then none the second time
    everything = {"applied": sorted(MIGRATIONS), "schema_version": max(MIGRATIONS)}
    assert invoke("migrate", load_event("migrate")) == everything
    assert invoke("migrate", load_event("migrate")) == {"applied": [], "schema_version": max(MIGRATIONS)}
    with db.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert {"people", "imports"} <= {name for (name,) in cur.fetchall()}
