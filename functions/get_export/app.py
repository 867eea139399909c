"""GET /exports/{id}: one export's status and progress; once it succeeded, a pre-signed URL of its file."""

from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response

from people_api.config import read_settings
from people_api.errors import NotFound
from people_api.exports import s3_export
from people_api.exports.store import export_by_id
from people_api.http.requests import path_id
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import JSON, NO_STORE

app = make_resolver()


@app.get("/exports/<id>")
def get_export(id: str) -> Response[dict]:
    export_id = path_id(id)
    record = export_by_id(export_id)
    if record is None:
        raise NotFound(f"no export has id {export_id}")
    download = None
    if record.status == s3_export.SUCCEEDED:  # the S3 client only then: a cold start without it costs less
        download = s3_export.download(s3_export.s3_client(), read_settings(), record, datetime.now(UTC))
    # The URL is a credential, valid EXPORT_URL_SECONDS: no cache may keep it (README, Caching).
    return Response(
        status_code=200, content_type=JSON, body=record.as_json(download), headers={"Cache-Control": NO_STORE}
    )


lambda_handler = api_handler(app)
