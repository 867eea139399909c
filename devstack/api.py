"""The API: SAM CLI's local API Gateway (routes read from the template) served by werkzeug in a thread."""

from __future__ import annotations

import threading

from flask import Response
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.provider import Stack
from samcli.local.apigw.exceptions import AuthorizerUnauthorizedRequest
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.apigw.route import Route
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devstack import logs
from devstack.functions import AuthorizerFailed, InProcessRunner


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
            kind = "UNAUTHORIZED" if str(failure) == "Unauthorized" else "AUTHORIZER_CONFIGURATION_ERROR"
            raise GatewayResponse(kind) from None


def api_gateway(stacks: list[Stack], runner: InProcessRunner) -> LocalApigwService:
    """SAM CLI's API Gateway emulation for the template, with `runner` in place of its containers."""
    service = _Gateway(api=ApiProvider(stacks).api, lambda_runner=runner)
    service.create()
    responses = gateway_responses(stacks)

    def answer(kind: str) -> Response:
        status, headers, body = responses.get(kind) or DEFAULT_GATEWAY_RESPONSES[kind]
        return Response(body, status, headers=headers, mimetype="application/json")

    service._app.register_error_handler(GatewayResponse, lambda error: answer(str(error)))
    if "MISSING_AUTHENTICATION_TOKEN" in responses:  # SAM CLI answers 403 "Missing Authentication Token"
        for code in (404, 405):  # Flask's errors for a path, or a method, with no route
            service._app.register_error_handler(code, lambda _: answer("MISSING_AUTHENTICATION_TOKEN"))
    return service


# API Gateway's own answers where the template sets no gateway response of that type.
DEFAULT_GATEWAY_RESPONSES = {
    "UNAUTHORIZED": (401, {}, '{"message":"Unauthorized"}'),
    "ACCESS_DENIED": (403, {}, '{"message":"User is not authorized to access this resource"}'),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, {}, '{"message": null}'),
}


def gateway_responses(stacks: list[Stack]) -> dict[str, tuple[int, dict[str, str], str]]:
    """The template's GatewayResponses by type: status, headers (their quotes taken off) and JSON body."""
    responses = {}
    for stack in stacks:
        for resource in stack.resources.values():
            if resource.get("Type") != "AWS::Serverless::Api":
                continue
            for kind, response in (resource.get("Properties", {}).get("GatewayResponses") or {}).items():
                headers = (response.get("ResponseParameters") or {}).get("Headers") or {}
                responses[kind] = (
                    int(response["StatusCode"]),
                    {name: value.strip("'") for name, value in headers.items()},
                    response["ResponseTemplates"]["application/json"],
                )
    return responses


class _AccessLog(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logs.say(f"{self.command} {self.path} -> {code}", source="api")


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
