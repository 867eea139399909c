"""GET /imports/{id}: one CSV import, with its first row errors."""

from people_api.errors import NotFound
from people_api.http.requests import path_id
from people_api.http.resolver import api_handler, make_resolver
from people_api.imports.store import import_json

app = make_resolver()


@app.get("/imports/<id>")
def get_import(id: str) -> dict:
    import_id = path_id(id)
    record = import_json(import_id)
    if record is None:
        raise NotFound(f"no import has id {import_id}")
    return record


lambda_handler = api_handler(app)
