"""GET /ids/lastname/{lastname}: ids of the people with that last name, ignoring case."""

from aws_lambda_powertools.logging import correlation_paths

from people_api.http.cursors import IDS_BY_LAST_NAME
from people_api.http.requests import page_parameters, percent_decoded
from people_api.http.resolver import make_resolver
from people_api.observability import logger
from people_api.people.store import ids_with_last_name

app = make_resolver()


@app.get("/ids/lastname/<lastname>")
def ids_by_last_name(lastname: str) -> dict:
    limit, cursor = page_parameters(app)
    last_name = percent_decoded(lastname, "lastname").strip()
    (after_id,) = IDS_BY_LAST_NAME.after(cursor)
    ids = ids_with_last_name(last_name, after_id, limit + 1)
    page = IDS_BY_LAST_NAME.page(ids, limit, lambda last: (last,), lambda person_id: person_id)
    return {"last_name": last_name, "ids": page.items, "next_cursor": page.next_cursor}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
