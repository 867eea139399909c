"""The API: SAM CLI's local API Gateway (routes read from the template) served by werkzeug in a thread."""

from __future__ import annotations

import json
import threading
import uuid
from http import HTTPStatus
from urllib.parse import urlsplit

from flask import Response, request
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.provider import Stack
from samcli.local.apigw.event_constructor import construct_v1_event
from samcli.local.apigw.exceptions import AuthorizerUnauthorizedRequest
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.apigw.path_converter import PathConverter
from samcli.local.apigw.route import Route
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devstack import logs
from devstack.functions import AuthorizerFailed, LambdaRunner
from devstack.gateway_answers import mapped_headers, preflights, template_value

# Where the gateway leaves the matched route's template path for the access log (API Gateway's $context.resourcePath).
RESOURCE_PATH = "devstack.resource_path"
REQUEST_ID = "devstack.request_id"


def template_routes(stacks: list[Stack]) -> list[Route]:
    """The template's API routes as SAM CLI reads them: path, methods, function logical id."""
    return ApiProvider(stacks).api.routes


class GatewayResponse(Exception):
    """API Gateway answers the request with the template's gateway response of this type."""


class _Gateway(LocalApigwService):
    """SAM CLI's emulation, answering authorizer outcomes as API Gateway does (docs/auth.md).

    SAM CLI answers a missing token with its own 401, a denying policy with its own 403, and an
    authorizer's `Unauthorized` error with 502; API Gateway answers them with the UNAUTHORIZED,
    ACCESS_DENIED and UNAUTHORIZED gateway responses, and any other authorizer error with
    AUTHORIZER_CONFIGURATION_ERROR. The two methods overridden are the ones the contract test pins.
    """

    def _generate_lambda_event(self, flask_request, route: Route, method: str, endpoint: str) -> dict:
        """SAM CLI's event, except that a body that is not UTF-8 goes base64-encoded (SAM CLI answers 502),
        and with the request's own id."""
        try:
            event = super()._generate_lambda_event(flask_request, route, method, endpoint)
        except UnicodeDecodeError:
            event = construct_v1_event(
                flask_request=flask_request,
                port=self.port,
                binary_types=["*/*"],
                stage_name=self.api.stage_name,
                stage_variables=self.api.stage_variables,
                operation_name=route.operation_name,
                api_type=route.event_type,
            )
        return _with_request_id(event, flask_request)

    def _generate_lambda_authorizer_event(self, flask_request, route: Route, lambda_authorizer) -> dict:
        return _with_request_id(
            super()._generate_lambda_authorizer_event(flask_request, route, lambda_authorizer), flask_request
        )

    def _valid_identity_sources(self, request, route) -> bool:
        if not super()._valid_identity_sources(request, route):
            raise GatewayResponse("UNAUTHORIZED")
        return True

    def _invoke_parse_lambda_authorizer(self, *args, **kwargs) -> None:
        try:
            super()._invoke_parse_lambda_authorizer(*args, **kwargs)
        except AuthorizerUnauthorizedRequest:
            raise GatewayResponse("ACCESS_DENIED") from None
        except AuthorizerFailed as failure:
            kind = "UNAUTHORIZED" if failure.refused else "AUTHORIZER_CONFIGURATION_ERROR"
            raise GatewayResponse(kind) from None


def _with_request_id(event: dict, flask_request) -> dict:
    """The event with the request's own `requestContext.requestId` (the correlation id the functions log).

    API Gateway gives every request an id of its own, the same in its REQUEST authorizer's event; SAM CLI
    gives every request the one id it drew when it was imported (a default argument: `str(uuid.uuid4())`).
    """
    if isinstance(event.get("requestContext"), dict):
        event["requestContext"]["requestId"] = flask_request.environ.setdefault(REQUEST_ID, str(uuid.uuid4()))
    return event


def api_gateway(stacks: list[Stack], runner: LambdaRunner) -> LocalApigwService:
    """SAM CLI's API Gateway emulation for the template, with `runner` in place of its containers."""
    service = _Gateway(api=ApiProvider(stacks).api, lambda_runner=runner)
    service.create()
    responses = gateway_responses(stacks)
    preflight_of = preflights(stacks)

    def answer(kind: str) -> Response:
        status, headers, body = responses.get(kind) or DEFAULT_GATEWAY_RESPONSES[kind]
        return Response(body, status, headers=mapped_headers(headers, request.headers), mimetype="application/json")

    app = service._app
    app.register_error_handler(GatewayResponse, lambda error: answer(str(error)))
    for code in (404, 405):  # Flask's errors for a path, or a method, with no route (SAM CLI: its own 403)
        app.register_error_handler(code, lambda _: answer("MISSING_AUTHENTICATION_TOKEN"))
    app.register_error_handler(
        HTTPException,
        lambda error: Response(json.dumps({"message": error.name}), error.code, mimetype="application/json"),
    )
    app.url_map.merge_slashes = False  # /people//1 is no route, as in API Gateway, not a redirect to /people/1

    @app.before_request
    def only_the_template_methods() -> Response | None:
        """Flask adds HEAD to every GET route; API Gateway answers a method the resource lacks as no route.

        OPTIONS is the template's CORS preflight where it has one (gateway_answers.py).
        """
        resource = _route_path(app)
        if resource is not None:
            request.environ[RESOURCE_PATH] = resource  # the template's path, for the access log
        if request.method == "OPTIONS" and (preflight := preflight_of.get(resource)) is not None:
            status, headers = preflight.answer(request.headers)
            return Response(status=status, headers=headers, mimetype="application/json")
        if request.url_rule is not None and service._route_key(request.method, request.endpoint) not in routes:
            raise GatewayResponse("MISSING_AUTHENTICATION_TOKEN")
        return None

    routes = service._dict_of_routes
    app.wsgi_app = _path_as_sent(app.wsgi_app)
    return service


def _route_path(app) -> str | None:
    """The template path (`/people/{id}`) of the route this request's path is, whatever the method asked for.

    Matched under the request's own method, else GET, else the first in order: under any method, /people/age
    would be /people/{id} for a DELETE (a method /people/age lacks).
    """
    adapter = app.url_map.bind_to_environ(request.environ)
    methods = adapter.allowed_methods()
    if not methods:
        return None
    method = next(m for m in (request.method, "GET", *sorted(methods)) if m in methods)
    rule, _ = adapter.match(method=method, return_rule=True)
    return PathConverter.convert_path_to_api_gateway(rule.endpoint)


def _path_as_sent(wsgi_app):
    """Route and build events on the path as the client sent it, still percent-encoded, as API Gateway does.

    werkzeug decodes PATH_INFO; API Gateway REST APIs keep the path, and so `path` and
    `pathParameters`, percent-encoded (docs/dev.md, Paths): `a%2Fb` is one segment, and the
    function decodes it once.
    """

    def app(environ, start_response):
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw:
            environ["PATH_INFO"] = urlsplit(raw).path if not raw.startswith("/") else raw.partition("?")[0]
        return wsgi_app(environ, start_response)

    return app


# API Gateway's own answers where the template sets no gateway response of that type.
DEFAULT_GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": (403, {}, '{"message":"Missing Authentication Token"}'),
    "UNAUTHORIZED": (401, {}, '{"message":"Unauthorized"}'),
    "ACCESS_DENIED": (403, {}, '{"message":"User is not authorized to access this resource"}'),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, {}, '{"message": null}'),
}


def gateway_responses(stacks: list[Stack]) -> dict[str, tuple[int, dict[str, str], str]]:
    """The template's GatewayResponses with a status, by type: status, header mappings and JSON body."""
    responses = {}
    for stack in stacks:
        for resource in stack.resources.values():
            if resource.get("Type") != "AWS::Serverless::Api":
                continue
            for kind, response in template_value(
                stack, resource.get("Properties", {}).get("GatewayResponses") or {}
            ).items():
                if "StatusCode" not in response:
                    continue  # DEFAULT_4XX and DEFAULT_5XX: API Gateway's 429s and 5XXs, which make dev does not make
                headers = (response.get("ResponseParameters") or {}).get("Headers") or {}
                responses[kind] = (
                    int(response["StatusCode"]),
                    headers,
                    response["ResponseTemplates"]["application/json"],
                )
    return responses


class _AccessLog(WSGIRequestHandler):
    """One line per request with the route's template path, as API Gateway's access log has `$context.resourcePath`:
    the values in a path (a last name) stay out of the terminal. A request that matched no route shows none.

    The server's own refusals, before any route (a request line that is not HTTP, one over 64 KB, a header
    line too long, an HTTP version it does not speak), answer JSON `{"message": ...}` as the gateway's
    answers do, and log one bounded JSON line without the request line; werkzeug's would be an HTML page
    and a log line quoting up to 64 KB of the request.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        resource = getattr(self, "environ", {}).get(RESOURCE_PATH, "(no route)")
        logs.say(f"{self._method()} {resource} -> {code}", source="api")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        status = HTTPStatus(code)
        # http.server's messages quote the request ("Bad request version ('...')"): only the words before it
        reason = (message or status.phrase).partition(" (")[0][:_REASON_CHARS]
        self._log_line("error", f"refused before any route: {reason}", status=code)
        body = json.dumps({"message": status.phrase}).encode()
        # A request line without a version it could read leaves http.server at HTTP/0.9, which has no status
        # line nor headers; the gateway answers every request with both.
        self.request_version = self.protocol_version
        self.send_response_only(code)  # its standard phrase (http.server's would be the message, quoting the request)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_error(self, format: str, *args) -> None:
        self._log_line("error", format % args)

    def log_message(self, format: str, *args) -> None:
        self._log_line("info", format % args)

    def _log_line(self, level: str, message: str, **fields) -> None:
        logs.say(json.dumps({"level": level, "message": message[:_LOG_MESSAGE_CHARS], **fields}), source="api")

    def _method(self) -> str:
        """The request's method, or `-` for what no client would send as one (a refused request's first word)."""
        command = self.command or "-"
        return command if len(command) <= _METHOD_CHARS and command.isalpha() else "-"


_REASON_CHARS = 60
_LOG_MESSAGE_CHARS = 300
_METHOD_CHARS = 10


class ApiServer:
    """The API Gateway emulation's Flask app on host:port, serving each request on its own thread."""

    def __init__(self, service: LocalApigwService, host: str, port: int):
        # `_app` is the Flask app `create()` built; the contract test holds the pinned SAM CLI to it.
        self._server: BaseWSGIServer = make_server(host, port, service._app, threaded=True, request_handler=_AccessLog)
        self._thread = threading.Thread(target=self._server.serve_forever, name="api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
