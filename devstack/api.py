"""The API: SAM CLI's local API Gateway (routes read from the template) served by werkzeug in a thread."""

from __future__ import annotations

import threading

from flask import Response
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.provider import Stack
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.apigw.route import Route
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devstack import logs
from devstack.functions import InProcessRunner


def template_routes(stacks: list[Stack]) -> list[Route]:
    """The template's API routes as SAM CLI reads them: path, methods, function logical id."""
    return ApiProvider(stacks).api.routes


def api_gateway(stacks: list[Stack], runner: InProcessRunner) -> LocalApigwService:
    """SAM CLI's API Gateway emulation for the template, with `runner` in place of its containers."""
    service = LocalApigwService(api=ApiProvider(stacks).api, lambda_runner=runner)
    service.create()
    answer = unknown_route_answer(stacks)
    if answer is not None:  # SAM CLI answers 403 "Missing Authentication Token" whatever the template says
        status, body = answer
        for code in (404, 405):  # Flask's errors for a path, or a method, with no route
            service._app.register_error_handler(code, lambda _: Response(body, status, mimetype="application/json"))
    return service


def unknown_route_answer(stacks: list[Stack]) -> tuple[int, str] | None:
    """Status and JSON body of the template's MISSING_AUTHENTICATION_TOKEN gateway response, if it sets one."""
    for stack in stacks:
        for resource in stack.resources.values():
            if resource.get("Type") != "AWS::Serverless::Api":
                continue
            gateway_responses = resource.get("Properties", {}).get("GatewayResponses", {})
            response = gateway_responses.get("MISSING_AUTHENTICATION_TOKEN")
            if response is not None:
                return int(response["StatusCode"]), response["ResponseTemplates"]["application/json"]
    return None


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
