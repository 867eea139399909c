"""template.yaml, translated by the SAM translator (as `sam deploy` does) for each database choice.

The translated template still holds CloudFormation's conditions; `resolve` evaluates them for the
parameters given, the way CloudFormation would, so each test sees the stack that a choice creates.
The tests name no function: they find the functions that reach the database, the API functions
and the rest from the template itself, so functions added later are checked the same way.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import os
import re
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from people_api.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
DATABASE_MODULES = {"db", "people.store", "imports.store", "imports.s3_import", "migrations"}
NO_VALUE = object()

CREATE = {"DatabaseMode": "create"}
EXISTING = {
    "DatabaseMode": "existing",
    "DbHost": "people.abc123.eu-west-1.rds.amazonaws.com",
    "DbSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf",
    "SubnetIds": "subnet-0aaa,subnet-0bbb",
    "SecurityGroupIds": "sg-0ccc",
}
CHOICES = {"create": CREATE, "existing": EXISTING}

# AWS-managed policies SAM attaches; each is as narrow as its service allows (docs/deploy.md#iam).
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",  # logs:CreateLogStream/PutLogEvents
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",  # ENIs in the VPC
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",  # X-Ray has no resource-level permissions
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",  # API Gateway's account role
}
# Actions whose service offers no resource-level permission: "*" is the only possible resource.
ACTIONS_WITHOUT_RESOURCES = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def translate(overrides: dict[str, str]) -> dict[str, Any]:
    """The CloudFormation template `sam deploy` would send for these parameters, conditions resolved."""
    return copy.deepcopy(_translate(tuple(sorted(overrides.items()))))


@functools.cache
def _translate(overrides: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    overrides = dict(overrides)
    template = yaml_parse((ROOT / "template.yaml").read_text())
    for resource in template["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):  # what `sam package` does with local folders
                properties[key] = f"s3://artifacts/{properties[key].strip('/')}"
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "eu-west-1"}):  # the translator wants a region
        translated = transform(template, dict(overrides), _NoManagedPolicies())
    parameters = {name: spec.get("Default") for name, spec in translated.get("Parameters", {}).items()}
    parameters.update(overrides)
    return resolve(translated, parameters)


def resolve(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    for name, spec in template.get("Parameters", {}).items():
        if spec.get("Type") == "CommaDelimitedList" and isinstance(parameters.get(name), str):
            parameters[name] = [item for item in parameters[name].split(",") if item] or [""]
    conditions: dict[str, bool] = {}

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = evaluate(template["Conditions"][name])
        return conditions[name]

    def evaluate(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref" and value in parameters:
                return parameters[value]
            if key == "Fn::Equals":
                return evaluate(value[0]) == evaluate(value[1])
            if key == "Fn::Not":
                return not evaluate(value[0])
            if key == "Fn::And":
                return all(evaluate(item) for item in value)
            if key == "Fn::Or":
                return any(evaluate(item) for item in value)
            if key == "Condition":
                return condition(value)
            if key == "Fn::Join" and isinstance(evaluate(value[1]), list):
                return value[0].join(str(item) for item in evaluate(value[1]))
        return node

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, then, otherwise = node["Fn::If"]
                return walk(then if condition(name) else otherwise)
            if node == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
            if set(node) == {"Ref"} and node["Ref"] in parameters:
                return parameters[node["Ref"]]
            walked = {key: walk(value) for key, value in node.items()}
            return {key: value for key, value in walked.items() if value is not NO_VALUE}
        if isinstance(node, list):
            return [item for item in (walk(value) for value in node) if item is not NO_VALUE]
        return node

    resources = {
        name: resource
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or condition(resource["Condition"])
    }
    return walk({"Resources": resources, "Outputs": template.get("Outputs", {})})


@pytest.fixture(scope="module", params=sorted(CHOICES))
def stack(request) -> dict[str, Any]:
    stack = translate(CHOICES[request.param])
    stack["choice"] = request.param
    return stack


def of_type(stack: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: r.get("Properties", {}) for name, r in stack["Resources"].items() if r["Type"] == type_}


def functions(stack) -> dict[str, dict[str, Any]]:
    return of_type(stack, "AWS::Lambda::Function")


def environment(function: dict[str, Any]) -> dict[str, Any]:
    return function.get("Environment", {}).get("Variables", {})


def reaches_database(function: dict[str, Any]) -> bool:
    """Whether the function's code (its app.py) imports a layer module that opens database connections."""
    app = ROOT / function["Code"]["S3Key"] / "app.py"
    imported = set()
    for node in ast.walk(ast.parse(app.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("people_api"):
            imported |= {node.module.removeprefix("people_api").lstrip(".")} | {alias.name for alias in node.names}
    return bool(imported & DATABASE_MODULES)


def api_functions(stack) -> set[str]:
    """Functions API Gateway may invoke (SAM gives each Api event, and each authorizer, a Lambda permission)."""
    return {
        p["FunctionName"].get("Ref") or p["FunctionName"]["Fn::GetAtt"][0]
        for p in of_type(stack, "AWS::Lambda::Permission").values()
        if p.get("Principal") == "apigateway.amazonaws.com"
    }


def s3_triggered_functions(stack) -> set[str]:
    return {
        p["FunctionName"]["Ref"]
        for p in of_type(stack, "AWS::Lambda::Permission").values()
        if p.get("Principal") == "s3.amazonaws.com"
    }


def custom_resource(stack) -> dict[str, Any]:
    [(name, resource)] = [(n, r) for n, r in stack["Resources"].items() if r["Type"].startswith("Custom::")]
    return resource


def migration_function(stack) -> str:
    return custom_resource(stack)["Properties"]["ServiceToken"]["Fn::GetAtt"][0]


def references(node: Any) -> set[str]:
    """Every logical id a Ref, GetAtt or Sub in `node` points at."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= references(value[1] if isinstance(value, list) else {})
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def direct_database_host(stack):
    return {"create": {"Fn::GetAtt": ["DbInstance", "Endpoint.Address"]}, "existing": EXISTING["DbHost"]}[
        stack["choice"]
    ]


# -- the choices themselves -------------------------------------------------------------------


def test_create_makes_a_private_two_zone_network_without_nat():
    stack = translate(CREATE)
    types = {r["Type"] for r in stack["Resources"].values()}
    assert {"AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"}.isdisjoint(types)
    subnets = of_type(stack, "AWS::EC2::Subnet")
    assert sorted(json.dumps(s["AvailabilityZone"]) for s in subnets.values()) == [
        json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in (0, 1)
    ]
    assert not any(s.get("MapPublicIpOnLaunch") for s in subnets.values())
    endpoints = {p["VpcEndpointType"]: p["ServiceName"] for p in of_type(stack, "AWS::EC2::VPCEndpoint").values()}
    assert endpoints == {
        "Gateway": {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"},
        "Interface": {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"},
    }


def test_create_makes_mysql_with_a_managed_secret_local_infile_and_a_final_snapshot():
    stack = translate(CREATE)
    [(name, db)] = [(n, r) for n, r in stack["Resources"].items() if r["Type"] == "AWS::RDS::DBInstance"]
    properties = db["Properties"]
    assert (properties["Engine"], properties["EngineVersion"].split(".")[:2]) == ("mysql", ["8", "4"])
    assert properties["ManageMasterUserPassword"] is True and "MasterUserPassword" not in properties
    assert properties["PubliclyAccessible"] is False and properties["StorageEncrypted"] is True
    assert db["DeletionPolicy"] == db["UpdateReplacePolicy"] == "Snapshot"
    group = stack["Resources"][properties["DBParameterGroupName"]["Ref"]]["Properties"]
    assert group["Parameters"]["local_infile"] == "1"


def test_existing_creates_no_database_network_or_proxy():
    types = {r["Type"] for r in translate(EXISTING)["Resources"].values()}
    assert {"AWS::RDS::DBInstance", "AWS::RDS::DBProxy", "AWS::EC2::VPC", "AWS::EC2::Subnet"}.isdisjoint(types)


# -- connections ------------------------------------------------------------------------------


def test_every_function_that_reaches_the_database_runs_in_the_private_subnets(stack):
    expected = {
        "create": [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}],
        "existing": EXISTING["SubnetIds"].split(","),
    }[stack["choice"]]
    reaching = {name: f for name, f in functions(stack).items() if reaches_database(f)}
    assert len(reaching) >= 3
    for name, function in reaching.items():
        assert function.get("VpcConfig", {}).get("SubnetIds") == expected, name


def test_api_functions_use_the_proxy_over_tls_and_the_import_and_migrations_connect_directly(stack):
    api = api_functions(stack)
    direct = s3_triggered_functions(stack) | {migration_function(stack)}
    assert api and direct and not api & direct
    for name, function in functions(stack).items():
        env = environment(function)
        if name in api and reaches_database(function):
            if stack["choice"] == "create":
                assert (env["DB_HOST"], env["DB_TLS"]) == ({"Fn::GetAtt": ["DbProxy", "Endpoint"]}, "true"), name
            else:
                assert env["DB_HOST"] == EXISTING["DbHost"], name
        elif name in direct:
            assert (env["DB_HOST"], env["DB_TLS"]) == (direct_database_host(stack), "false"), name


def test_the_authorizer_runs_outside_the_vpc_to_reach_the_issuers_keys(stack):
    # The created VPC has no NAT: inside it, the authorizer could not fetch the issuer's JWKS.
    assert "AuthorizerFunction" in api_functions(stack)
    assert "VpcConfig" not in functions(stack)["AuthorizerFunction"]
    assert not reaches_database(functions(stack)["AuthorizerFunction"])


def test_only_the_import_may_send_local_files(stack):
    for name, function in functions(stack).items():
        assert (environment(function).get("DB_LOCAL_INFILE") == "true") == (name in s3_triggered_functions(stack))


def test_the_import_has_a_reserved_concurrency_from_its_parameter(stack):
    for name in s3_triggered_functions(stack):
        assert functions(stack)[name]["ReservedConcurrentExecutions"] == 2  # ImportReservedConcurrency's default


def test_an_import_reservation_of_zero_reserves_nothing_instead_of_stopping_the_import():
    stack = translate(CREATE | {"ImportReservedConcurrency": "0"})
    for name in s3_triggered_functions(stack):
        assert "ReservedConcurrentExecutions" not in functions(stack)[name]


def test_every_database_function_can_read_its_secret_and_only_the_migrations_the_owners(stack):
    owner_secret = {
        "create": {"Fn::GetAtt": ["DbInstance", "MasterUserSecret.SecretArn"]},
        "existing": EXISTING["DbSecretArn"],
    }[stack["choice"]]
    migrate = migration_function(stack)
    for name, function in functions(stack).items():
        env = environment(function)
        if not reaches_database(function):
            continue
        readable = secrets_readable_by(stack, function["Role"]["Fn::GetAtt"][0])
        assert json.dumps(env["DB_SECRET_ARN"]) in readable, name
        assert (json.dumps(owner_secret) in readable) == (name == migrate), name
    assert environment(functions(stack)[migrate])["DB_SECRET_ARN"] == owner_secret
    assert environment(functions(stack)[migrate])["APP_DB_SECRET_ARN"] == {"Ref": "AppUserSecret"}


def secrets_readable_by(stack, role: str) -> set[str]:
    readable = set()
    for statement in statements(stack["Resources"][role]["Properties"]):
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                if isinstance(resource, dict) and "Fn::Sub" in resource and resource["Fn::Sub"][0] == "${secretArn}":
                    resource = resource["Fn::Sub"][1]["secretArn"]  # SAM's policy template wraps the ARN
                readable.add(json.dumps(resource))
    return readable


# -- least privilege --------------------------------------------------------------------------


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def statements(role_properties: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role_properties.get("Policies", [])
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]


def test_iam_grants_named_actions_on_named_resources(stack):
    roles = of_type(stack, "AWS::IAM::Role")
    assert roles
    for name, role in roles.items():
        managed = {arn["Fn::Sub"] if isinstance(arn, dict) else arn for arn in role.get("ManagedPolicyArns", [])}
        assert {arn.replace("${AWS::Partition}", "aws") for arn in managed} <= ALLOWED_MANAGED_POLICIES, name
        for statement in statements(role):
            assert statement["Effect"] == "Allow"
            actions = as_list(statement["Action"])
            assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action) for action in actions), (name, actions)
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= ACTIONS_WITHOUT_RESOURCES, (name, actions)


def test_resource_policies_name_their_resources(stack):
    for type_ in ("AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy"):
        for name, policy in of_type(stack, type_).items():
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                assert "*" not in as_list(statement["Resource"]), name
                if statement["Effect"] == "Allow":
                    assert "*" not in as_list(statement["Action"]), name


# -- logs, alarms, tracing --------------------------------------------------------------------


def test_every_log_group_has_a_retention_and_every_function_logs_to_one(stack):
    groups = of_type(stack, "AWS::Logs::LogGroup")
    assert all(group.get("RetentionInDays") == 30 for group in groups.values())  # LogRetentionDays' default
    for name, function in functions(stack).items():
        assert function["LoggingConfig"]["LogGroup"]["Ref"] in groups, name


def test_the_api_writes_json_access_logs_to_a_retained_log_group(stack):
    [stage] = of_type(stack, "AWS::ApiGateway::Stage").values()
    setting = stage["AccessLogSetting"]
    assert setting["DestinationArn"]["Fn::GetAtt"][0] in of_type(stack, "AWS::Logs::LogGroup")
    line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", setting["Format"]))
    assert {"requestId", "status", "httpMethod", "resourcePath"} <= set(line)
    assert not {"ip", "sourceIp", "caller", "user"} & set(line)


ALARMED_METRICS = {
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    (metrics.namespace, "ImportsFailed"),
    ("AWS/ApiGateway", "5XXError"),
    ("AWS/Lambda", "Throttles"),
    ("AWS/Lambda", "Errors"),
}


def test_each_alarm_exists_and_notifies_the_topic(stack):
    alarms = of_type(stack, "AWS::CloudWatch::Alarm")
    expected = ALARMED_METRICS | ({("AWS/RDS", "DatabaseConnections")} if stack["choice"] == "create" else set())
    assert {(a["Namespace"], a["MetricName"]) for a in alarms.values()} == expected
    [topic] = of_type(stack, "AWS::SNS::Topic")
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic}], name


def test_the_failed_imports_alarm_watches_the_metric_the_import_emits(stack):
    [alarm] = [a for a in of_type(stack, "AWS::CloudWatch::Alarm").values() if a["MetricName"] == "ImportsFailed"]
    s3_import = (ROOT / "layers" / "people_api" / "imports" / "s3_import.py").read_text()
    assert 'add_metric(name="ImportsFailed"' in s3_import
    service = {e["POWERTOOLS_SERVICE_NAME"] for f in functions(stack).values() for e in [environment(f)]}
    assert alarm["Dimensions"] == [{"Name": "service", "Value": service.pop()}] and not service


def test_a_failed_run_of_the_scheduled_functions_alarms(stack):
    scheduled = {
        name
        for name, rule in of_type(stack, "AWS::Events::Rule").items()
        if rule.get("ScheduleExpression")
        for target in rule["Targets"]
        for name in [target["Arn"]["Fn::GetAtt"][0]]
    }
    alarms = [a for a in of_type(stack, "AWS::CloudWatch::Alarm").values() if a["MetricName"] == "Errors"]
    assert (
        scheduled
        and {d["Value"]["Ref"] for a in alarms if a["Namespace"] == "AWS/Lambda" for d in a["Dimensions"]} == scheduled
    )


def test_the_alarm_email_is_subscribed_only_when_given():
    assert not of_type(translate(CREATE), "AWS::SNS::Subscription")
    [subscription] = of_type(translate(CREATE | {"AlarmEmail": "ops@example.com"}), "AWS::SNS::Subscription").values()
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")


@pytest.mark.parametrize(("tracing", "api_tracing"), [("PassThrough", False), ("Active", True)])
def test_tracing_is_a_parameter_off_by_default(tracing, api_tracing):
    stack = translate(CREATE | {"Tracing": tracing})
    assert {f["TracingConfig"]["Mode"] for f in functions(stack).values()} == {tracing}
    [stage] = of_type(stack, "AWS::ApiGateway::Stage").values()
    assert stage["TracingEnabled"] is api_tracing


# -- migrations on every deploy ---------------------------------------------------------------


def test_the_custom_resource_runs_the_migration_function_after_the_database(stack):
    resource = custom_resource(stack)
    migrate = migration_function(stack)
    properties = resource["Properties"]
    # A new function version (any code or layer change) changes a property, so CloudFormation sends Update.
    [version] = references(properties["MigrateFunctionVersion"])
    assert stack["Resources"][version]["Type"] == "AWS::Lambda::Version"
    assert stack["Resources"][version]["Properties"]["FunctionName"] == {"Ref": migrate}
    if stack["choice"] == "create":
        assert "DbInstance" in references(properties)
        # The function's own connection settings point at the database, so it exists first too.
        assert "DbInstance" in references(functions(stack)[migrate]["Environment"])
    assert int(properties["ServiceTimeout"]) > functions(stack)[migrate]["Timeout"]


def test_the_proxy_waits_for_its_target_and_reads_only_the_app_users_secret():
    stack = translate(CREATE)
    [proxy] = of_type(stack, "AWS::RDS::DBProxy").values()
    assert proxy["RequireTLS"] is True
    assert [auth["SecretArn"] for auth in proxy["Auth"]] == [{"Ref": "AppUserSecret"}]
    role = stack["Resources"][proxy["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert [s["Resource"] for s in statements(role)] == [{"Ref": "AppUserSecret"}]
    [(name, target_group)] = [
        (n, r) for n, r in stack["Resources"].items() if r["Type"] == "AWS::RDS::DBProxyTargetGroup"
    ]
    assert target_group["Properties"]["DBInstanceIdentifiers"] == [{"Ref": "DbInstance"}]
    # The proxy signs in as the app user, which the first migration run creates.
    [migrations] = [n for n, r in stack["Resources"].items() if r["Type"].startswith("Custom::")]
    assert migrations in as_list(target_group.get("DependsOn", []))


def api_definition(stack) -> dict[str, Any]:
    [api] = of_type(stack, "AWS::ApiGateway::RestApi").values()
    return api["Body"]


@pytest.mark.parametrize("reads", ["", "BearerToken"])
def test_what_api_gateway_gets_for_each_route_and_the_refusals(reads):
    # Given the template as deployed, reads public (the default) or needing a token
    body = api_definition(translate(CREATE | {"PeopleReadsAuthorizer": reads}))

    # Then each operation names the authorizer docs/auth.md says
    security = {
        f"{method.upper()} {path}": [name for entry in operation.get("security", []) for name in entry]
        for path, item in body["paths"].items()
        for method, operation in item.items()
    }
    read_security = [reads] if reads else []
    assert security == {
        "GET /ping": ["Anyone"],
        "GET /docs": ["Anyone"],
        "GET /docs/{file}": ["Anyone"],
        "POST /people": ["BearerToken"],
        "PATCH /people/{id}": ["BearerToken"],
        "DELETE /people/{id}": ["BearerToken"],
        "GET /imports": ["BearerToken"],
        "GET /imports/{id}": ["BearerToken"],
        "POST /exports": ["BearerToken"],
        "GET /exports": ["BearerToken"],
        "GET /exports/{id}": ["BearerToken"],
        "GET /people": read_security,
        "GET /people/age": read_security,
        "GET /people/changes": read_security,
        "GET /people/{id}": read_security,
        "GET /ids/lastname/{lastname}": read_security,
    }
    # And the bearer authorizer is a cached TOKEN authorizer on the Authorization header, /ping's uncached
    bearer = body["securityDefinitions"]["BearerToken"]
    assert (bearer["name"], bearer["x-amazon-apigateway-authorizer"]["type"]) == ("Authorization", "token")
    assert bearer["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"] == 300
    assert bearer["x-amazon-apigateway-authorizer"]["identityValidationExpression"].startswith("^Bearer ")
    assert body["securityDefinitions"]["Anyone"]["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"] == 0
    # And a refusal is a 401 with the Bearer challenge, a 403 without
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert responses["UNAUTHORIZED"]["statusCode"] == "401"
    no_store = {"gatewayresponse.header.Cache-Control": "'no-store'"}
    assert (
        responses["UNAUTHORIZED"]["responseParameters"]
        == {"gatewayresponse.header.WWW-Authenticate": "'Bearer'"} | no_store
    )
    assert (responses["ACCESS_DENIED"]["statusCode"], responses["ACCESS_DENIED"]["responseParameters"]) == (
        "403",
        no_store,
    )
    # And every answer of the gateway's own is no-store, as every error is (README, Caching)
    assert {
        kind: r["responseParameters"].get("gatewayresponse.header.Cache-Control") for kind, r in responses.items()
    } == {kind: "'no-store'" for kind in responses}


def test_the_stack_trusts_its_own_user_pool_unless_told_another_issuer():
    own = environment(functions(translate(CREATE))["AuthorizerFunction"])
    other = translate(CREATE | {"AuthIssuerUrl": "https://login.example.com/t", "AuthAudience": "api,cli"})

    assert own["AUTH_ISSUER"] == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}
    assert own["AUTH_AUDIENCE"] == {"Fn::Sub": "${UserPoolClient},${MachineClient}"}
    assert environment(functions(other)["AuthorizerFunction"])["AUTH_ISSUER"] == "https://login.example.com/t"
    assert environment(functions(other)["AuthorizerFunction"])["AUTH_AUDIENCE"] == {"Fn::Join": [",", ["api", "cli"]]}
    assert not of_type(other, "AWS::Cognito::UserPool")


# -- CORS (README, CORS) ----------------------------------------------------------------------


ORIGINS = "https://app.example.org,http://127.0.0.1:8080"


def preflight_answer(operation: dict[str, Any], origins: str, request_headers: dict[str, str]):
    """How API Gateway answers a preflight with this OPTIONS mock integration, its Velocity run by airspeed-ext."""
    from devstack.gateway_answers import Preflight

    response = operation["x-amazon-apigateway-integration"]["responses"]["default"]
    template = response["responseTemplates"]["application/json"]["Fn::Sub"].replace("${CorsAllowedOrigins}", origins)
    static = {
        name.removeprefix("method.response.header."): value.strip("'")
        for name, value in response["responseParameters"].items()
    }
    return Preflight(int(response["statusCode"]), static, template).answer(request_headers)


@pytest.mark.parametrize("reads", ["", "BearerToken"])
def test_with_allowed_origins_api_gateway_answers_every_paths_preflight_itself(reads):
    body = api_definition(translate(CREATE | {"CorsAllowedOrigins": ORIGINS, "PeopleReadsAuthorizer": reads}))
    routes = {path for path, item in body["paths"].items() if set(item) - {"options"}}

    preflights = {path: item["options"] for path, item in body["paths"].items() if "options" in item}
    assert set(preflights) == routes  # a route's path without its line in template.yaml's DefinitionBody shows here
    for path, operation in preflights.items():
        assert operation["x-amazon-apigateway-integration"]["type"] == "mock", path
        assert "security" not in operation, path  # a preflight carries no token: no authorizer, in both modes
        assert operation["x-amazon-apigateway-integration"]["requestTemplates"] == {
            "application/json": '{"statusCode": 204}'
        }


@pytest.mark.parametrize(
    ("headers", "origin"),
    [
        ({"Origin": "https://app.example.org"}, "https://app.example.org"),
        ({"origin": "http://127.0.0.1:8080"}, "http://127.0.0.1:8080"),  # HTTP/2 clients send it in lower case
        ({"Origin": "https://evil.example"}, None),
        ({"Origin": "https://app.example.org,http://127.0.0.1:8080"}, None),
        ({"Origin": "http://127.0.0.1"}, None),
        ({"Origin": ""}, None),
        ({}, None),
    ],
)
def test_the_preflight_names_an_allowed_origin_only(headers, origin):
    body = api_definition(translate(CREATE | {"CorsAllowedOrigins": ORIGINS}))

    status, answer = preflight_answer(body["paths"]["/people/{id}"]["options"], ORIGINS, headers)

    assert (status, answer["Vary"]) == (204, "Origin")
    assert answer.get("Access-Control-Allow-Origin") == origin
    if origin:
        assert answer["Access-Control-Allow-Methods"] == "GET, POST, PATCH, DELETE"
        assert answer["Access-Control-Allow-Headers"] == "Authorization, Content-Type, If-Match, If-None-Match"
    else:
        assert set(answer) == {"Vary"}


def test_without_allowed_origins_there_is_no_preflight_and_no_origin_is_named():
    stack = translate(CREATE)
    body = api_definition(stack)

    assert not [path for path, item in body["paths"].items() if "options" in item]
    for kind, response in body["x-amazon-apigateway-gateway-responses"].items():
        assert not [name for name in response["responseParameters"] if "Access-Control" in name or "Vary" in name], kind
    assert {environment(f).get("CORS_ALLOWED_ORIGINS") for f in functions(stack).values()} == {""}


def test_with_allowed_origins_the_gateways_own_answers_name_the_origin_and_every_function_knows_the_list():
    stack = translate(CREATE | {"CorsAllowedOrigins": ORIGINS})
    responses = api_definition(stack)["x-amazon-apigateway-gateway-responses"]

    assert {"UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(
        responses
    )
    for kind, response in responses.items():
        parameters = response["responseParameters"]
        assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin", kind
        assert parameters["gatewayresponse.header.Vary"] == "'Origin'", kind
    assert responses["UNAUTHORIZED"]["responseParameters"]["gatewayresponse.header.Access-Control-Expose-Headers"] == (
        "'WWW-Authenticate'"
    )
    assert {environment(f)["CORS_ALLOWED_ORIGINS"] for f in functions(stack).values()} == {ORIGINS}
