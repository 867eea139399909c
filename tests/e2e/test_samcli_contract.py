"""What devstack takes from SAM CLI's internals (pinned in requirements-dev.txt), held to it.

devstack reads the template with `SamLocalStackProvider`, `SamFunctionProvider` and `ApiProvider`,
hands `LocalApigwService` its own lambda runner (`invoke(name, event, stdout=...)`,
`is_debugging()`), overrides two of its methods (`_valid_identity_sources`,
`_invoke_parse_lambda_authorizer`) to answer authorizer outcomes with the template's gateway
responses, and serves the Flask app `create()` leaves in `_app`. A SAM CLI upgrade that changes
any of these fails here, not in front of a developer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import request
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from conftest import InProcessRunner, load_template
from devstack.api import RESOURCE_PATH, api_gateway, template_routes
from devstack.functions import template_functions

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# SAM CLI's template validation warns about its own use of jsonschema.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def api_routes_in_template() -> set[tuple[str, str, str]]:
    """(path, METHOD, function logical id) of every Api event, read straight from template.yaml."""
    resources = load_template(TEMPLATE)["Resources"]
    return {
        (event["Properties"]["Path"], event["Properties"]["Method"].upper(), name)
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] == "Api"
    }


@pytest.fixture(scope="module")
def stacks():
    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE))
    return stacks


@pytest.fixture
def handlers(stacks):
    """The template's functions and a stand-in handler for each, which records its events and answers 200."""
    functions = template_functions(stacks, ROOT)
    received: dict[str, list[dict]] = {name: [] for name in functions}

    def recorder(name):
        def handler(event, context):
            assert context.function_name == name and context.get_remaining_time_in_millis() > 0
            received[name].append(event)
            if "methodArn" in event:  # the authorizer: let everything through, naming a caller
                return {
                    "principalId": "caller-sub",
                    "policyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}],
                    },
                    "context": {"sub": "caller-sub", "username": "ada"},
                }
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(name)}

        return handler

    return functions, {name: recorder(name) for name in functions}, received


def gateway_client(stacks, functions, stand_ins):
    return api_gateway(stacks, InProcessRunner(functions, stand_ins))._app.test_client()


def test_devstack_serves_exactly_the_templates_routes(stacks):
    served = {
        (route.path, method, route.function_name) for route in template_routes(stacks) for method in route.methods
    }

    assert served == api_routes_in_template()


def test_each_route_reaches_its_function_as_a_rest_proxy_event(stacks, handlers):
    # Given SAM CLI's API Gateway with devstack's runner
    functions, stand_ins, received = handlers
    app = api_gateway(stacks, InProcessRunner(functions, stand_ins))._app
    logged_as = []  # what the access log names each request by
    app.after_request(lambda response: logged_as.append(request.environ.get(RESOURCE_PATH)) or response)
    client = app.test_client()

    routed = {function_name for _, _, function_name in api_routes_in_template()}
    for path, method, function_name in sorted(api_routes_in_template()):
        # When a request comes in on the route (path parameters filled in)
        url = path.replace("{id}", "7").replace("{lastname}", "O%27Neil")
        response = client.open(
            f"{url}?limit=5",
            method=method,
            data="{}" if method == "POST" else None,
            headers={"Authorization": "Bearer a.b.c"},
        )

        # Then the route's function got an API Gateway REST proxy event, and its answer came back; the access log
        # names the route's template path (/people/age, not /people/{id}, which the same path also matches)
        assert response.status_code == 200, (path, method)
        assert logged_as[-1] == path
        assert response.get_json() == function_name
        event = received[function_name][-1]
        assert (event["httpMethod"], event["resource"], event["requestContext"]["resourcePath"]) == (method, path, path)
        assert event["queryStringParameters"] == {"limit": "5"}
        if "{" in path:
            assert event["pathParameters"]
    # And each request had an id of its own (the correlation id the functions log), as in API Gateway
    request_ids = [
        event["requestContext"]["requestId"] for name, events in received.items() for event in events if name in routed
    ]
    assert len(set(request_ids)) == len(request_ids) == len(api_routes_in_template())


def test_a_handler_exception_is_a_502_and_the_next_request_is_served(stacks, handlers):
    # Given a /ping handler that fails once
    functions, stand_ins, _ = handlers
    answer = stand_ins["PingFunction"]
    calls = []

    def fails_first(event, context):
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return answer(event, context)

    client = gateway_client(stacks, functions, stand_ins | {"PingFunction": fails_first})

    # When it is called twice
    failed, served = client.get("/ping"), client.get("/ping")

    # Then the first is API Gateway's 502 (the trace under the function's name: tests/e2e/test_devstack.py)
    assert failed.status_code == 502
    assert failed.get_json() == {"message": "Internal server error"}
    # And the second is served
    assert served.status_code == 200


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("DELETE", "/people"), ("GET", "/people/1/2")])
def test_a_method_and_path_with_no_route_get_the_templates_gateway_response(stacks, handlers, method, path):
    functions, stand_ins, received = handlers
    client = gateway_client(stacks, functions, stand_ins)

    answer = client.open(path, method=method)

    resources = load_template(TEMPLATE)["Resources"]
    expected = resources["PeopleApi"]["Properties"]["GatewayResponses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert answer.status_code == expected["StatusCode"] == 404
    assert answer.get_json() == json.loads(expected["ResponseTemplates"]["application/json"])
    assert answer.get_json() == {"message": "no route for this method and path"}
    assert not any(received.values())


def test_the_authorizer_gets_api_gateways_events_and_the_route_its_context(stacks, handlers):
    # Given SAM CLI's API Gateway with devstack's runner and an authorizer that lets everything through
    functions, stand_ins, received = handlers
    client = gateway_client(stacks, functions, stand_ins)

    # When a secured route and /ping are called
    client.post("/people", data="{}", headers={"Authorization": "Bearer a.b.c"})
    client.get("/ping")

    # Then the authorizer got a TOKEN event for POST /people and a REQUEST event for /ping (API Gateway's shapes)
    token_event, request_event = received["AuthorizerFunction"]
    assert token_event["type"] == "TOKEN" and token_event["authorizationToken"] == "Bearer a.b.c"
    assert token_event["methodArn"].startswith("arn:aws:execute-api:us-east-1:")
    assert token_event["methodArn"].endswith("/v1/POST/people")
    assert request_event["type"] == "REQUEST" and request_event["methodArn"].endswith("/v1/GET/ping")
    # And the route's function found the caller in requestContext.authorizer, principalId included
    authorizer = received["CreatePersonFunction"][-1]["requestContext"]["authorizer"]
    assert authorizer == {"sub": "caller-sub", "username": "ada", "principalId": "caller-sub"}


@pytest.mark.parametrize(
    ("authorizer_answer", "status"),
    [("Unauthorized", 401), ("boom", 503), ("deny", 403)],
)
def test_authorizer_outcomes_get_the_templates_gateway_responses(stacks, handlers, authorizer_answer, status):
    functions, stand_ins, received = handlers

    def authorizer(event, context):
        if authorizer_answer == "deny":
            elsewhere = {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": "arn:aws:execute-api:*/GET/ping",
            }
            return {"principalId": "x", "policyDocument": {"Version": "2012-10-17", "Statement": [elsewhere]}}
        raise Exception(authorizer_answer)

    client = gateway_client(stacks, functions, stand_ins | {"AuthorizerFunction": authorizer})

    answer = client.post("/people", data="{}", headers={"Authorization": "Bearer a.b.c"})

    resources = load_template(TEMPLATE)["Resources"]
    responses = resources["PeopleApi"]["Properties"]["GatewayResponses"]
    kind = {401: "UNAUTHORIZED", 403: "ACCESS_DENIED", 503: "AUTHORIZER_CONFIGURATION_ERROR"}[status]
    assert answer.status_code == responses[kind]["StatusCode"] == status
    assert answer.get_json() == json.loads(responses[kind]["ResponseTemplates"]["application/json"])
    assert not received["CreatePersonFunction"]
