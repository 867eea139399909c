"""The resolver every API function builds, and the one table of which error is answered with which status."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response

from people_api.config import read_settings
from people_api.errors import Conflict, DatabaseUnavailable, Gone, NotFound, QueueUnavailable
from people_api.http.conditional import PreconditionFailed
from people_api.http.cursors import InvalidCursor
from people_api.http.requests import (
    BadRequest,
    ParameterInvalid,
    PathParameterInvalid,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from people_api.http.responses import error_response, with_cache_headers
from people_api.observability import logger
from people_api.people.person import PersonInvalid

DATABASE_RETRY_AFTER_SECONDS = 5

# Each error a function raises on purpose, and the status it is answered with (its message is the body's).
STATUS_OF_ERROR: dict[type[Exception], HTTPStatus] = {
    BadRequest: HTTPStatus.BAD_REQUEST,
    InvalidCursor: HTTPStatus.BAD_REQUEST,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    Gone: HTTPStatus.GONE,
    PreconditionFailed: HTTPStatus.PRECONDITION_FAILED,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    DatabaseUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    QueueUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}
_HEADERS_OF_STATUS = {HTTPStatus.SERVICE_UNAVAILABLE: {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}}


def cors_config(origins: list[str]) -> CORSConfig | None:
    """Answers to an allowed Origin name it, and let its scripts read the headers a client needs; None: no CORS.

    The preflight (OPTIONS) never reaches a function: API Gateway answers it (template.yaml, README CORS).
    """
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["If-Match", "If-None-Match"],  # beside Powertools' own: Authorization, Content-Type...
        expose_headers=["ETag", "Location", "Retry-After"],
    )


def _cors_origins() -> list[str]:
    return [origin for origin in read_settings().cors_allowed_origins.split(",") if origin]


def make_resolver() -> APIGatewayRestResolver:
    """A REST API resolver that answers every known error as JSON with a `message`.

    Built at cold start, so it checks the settings then: a variable with a bad value stops the function, named.
    """
    # debug=False whatever POWERTOOLS_DEV says: Powertools' debug mode prints each event, names and all.
    # No enable_validation: its request and response middlewares cost more than the handler they wrap
    # (README, Speed); the parameters are read by http/requests.py's parsers, in the handlers.
    app = APIGatewayRestResolver(enable_validation=False, cors=cors_config(_cors_origins()), debug=False)

    @app.exception_handler(list(STATUS_OF_ERROR))
    def known_error(error: Exception) -> Response:
        status = next(STATUS_OF_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_OF_ERROR)
        return error_response(status, str(error), **_HEADERS_OF_STATUS.get(status, {}))

    @app.exception_handler(ParameterInvalid)
    def invalid_parameter(error: ParameterInvalid) -> Response:
        in_path = isinstance(error, PathParameterInvalid)
        status = HTTPStatus.BAD_REQUEST if in_path else HTTPStatus.UNPROCESSABLE_ENTITY
        problems = [{"field": error.field, "message": str(error)}]
        return error_response(status, "the request's parameters are not valid", problems)

    @app.exception_handler(PersonInvalid)
    def invalid_person(error: PersonInvalid) -> Response:
        problems = [{"field": e.field, "message": e.message} for e in error.errors]
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "the person is not valid", problems)

    @app.not_found
    def no_route(_error: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "no such route")

    return app


def api_handler(app: APIGatewayRestResolver) -> Callable[[dict, Any], dict]:
    """An API function's Lambda handler: `app` answers, with the caching headers (`with_cache_headers`), and the
    request's log lines carry Lambda's context and API Gateway's request id (`correlation_id`).

    The request id is read from the event as it is: Powertools' `correlation_id_path` evaluates a JMESPath
    expression on every request (about 10 µs, a fiftieth of a read of one person; README, Speed).
    """

    read_cache_seconds, vary_origin = read_settings().read_cache_seconds, bool(_cors_origins())

    @logger.inject_lambda_context
    def lambda_handler(event: dict, context: Any) -> dict:
        logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
        answer = app.resolve(event, context)
        with_cache_headers(answer, event, read_cache_seconds, vary_origin)
        return answer

    return lambda_handler
