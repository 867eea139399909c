"""POST /exports: start an export of every person as one CSV file; answers 202 with its record."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from people_api.auth import access
from people_api.config import read_settings
from people_api.exports import s3_export
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import JSON, NO_STORE

app = make_resolver()


@app.post("/exports")
def create_export() -> Response[dict]:
    record = s3_export.enqueue(s3_export.sqs_client(), read_settings())
    access.log_write("export queued", app.current_event.raw_event, export_id=record.id)
    path = (app.current_event.request_context.path or app.current_event.path).rstrip("/")
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=JSON,
        body=record.as_json(),
        headers={"Location": f"{path}/{record.id}", "Cache-Control": NO_STORE},
    )


lambda_handler = api_handler(app)
