"""The resolver every API function builds, and the one table of which error is answered with which status."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from people_api.config import read_settings
from people_api.errors import Conflict, DatabaseUnavailable, NotFound
from people_api.http.conditional import PreconditionFailed
from people_api.http.cursors import InvalidCursor
from people_api.http.requests import BadRequest, PayloadTooLarge, UnsupportedMediaType
from people_api.http.responses import cache_control, error_response
from people_api.people.person import PersonInvalid

DATABASE_RETRY_AFTER_SECONDS = 5

# Each error a function raises on purpose, and the status it is answered with (its message is the body's).
STATUS_OF_ERROR: dict[type[Exception], HTTPStatus] = {
    BadRequest: HTTPStatus.BAD_REQUEST,
    InvalidCursor: HTTPStatus.BAD_REQUEST,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    PreconditionFailed: HTTPStatus.PRECONDITION_FAILED,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    DatabaseUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}
_HEADERS_OF_STATUS = {HTTPStatus.SERVICE_UNAVAILABLE: {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}}


def make_resolver() -> APIGatewayRestResolver:
    """A REST API resolver that answers every known error as JSON with a `message`.

    Built at cold start, so it checks the settings then: a variable with a bad value stops the function, named.
    """
    settings = read_settings()
    app = APIGatewayRestResolver(enable_validation=True)
    app.use([cache_control(settings.read_cache_seconds)])

    @app.exception_handler(list(STATUS_OF_ERROR))
    def known_error(error: Exception) -> Response:
        status = next(STATUS_OF_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_OF_ERROR)
        return error_response(status, str(error), **_HEADERS_OF_STATUS.get(status, {}))

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        problems = [{"field": str(e["loc"][-1]), "message": e["msg"]} for e in error.errors()]
        in_path = any(e["loc"][0] == "path" for e in error.errors())
        status = HTTPStatus.BAD_REQUEST if in_path else HTTPStatus.UNPROCESSABLE_ENTITY
        return error_response(status, "the request's parameters are not valid", problems)

    @app.exception_handler(PersonInvalid)
    def invalid_person(error: PersonInvalid) -> Response:
        problems = [{"field": e.field, "message": e.message} for e in error.errors]
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "the person is not valid", problems)

    @app.not_found
    def no_route(_error: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "no such route")

    return app
