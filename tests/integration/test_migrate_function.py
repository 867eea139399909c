from conftest import invoke, load_event
from people_api.migrations import MIGRATIONS


def test_migrate_function_reports_the_schema_version(database):
    assert invoke("migrate", load_event("migrate")) == {"applied": [], "schema_version": max(MIGRATIONS)}
