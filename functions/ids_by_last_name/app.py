"""GET /ids/lastname/{lastname}: ids of the people with that last name, ignoring case."""

from aws_lambda_powertools.logging import correlation_paths

from people_api import people_store
from people_api.api import DEFAULT_LIMIT, Cursor, Limit, make_resolver, percent_decoded
from people_api.observability import logger

app = make_resolver()


@app.get("/ids/lastname/<lastname>")
def ids_by_last_name(lastname: str, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict:
    last_name = percent_decoded(lastname, "lastname").strip()
    page = people_store.ids_by_last_name(last_name, limit, cursor)
    return {"last_name": last_name, "ids": page.items, "next_cursor": page.next_cursor}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
