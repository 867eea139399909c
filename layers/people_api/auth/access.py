"""Who may do what: the permissions a token carries, the routes each opens, the authorizer's policy.

API Gateway caches the authorizer's answer per token (AuthCacheSeconds) and reuses it for every
route that token calls, so the policy lists every route the token may call, never just the one
asked about: a reader's cached policy cannot let a POST through, a writer's cannot refuse a read.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from people_api.observability import logger

READ_PEOPLE = "people:read"  # any valid token (the reads need one when PeopleReadsAuthorizer is BearerToken)
WRITE_PEOPLE = "people:write"
READ_IMPORTS = "imports:read"
EXPORT_PEOPLE = "people:export"  # every person's values in one file: a permission of its own

# What grants a permission: a Cognito group (users), or an OAuth scope of the people-api resource server
# (machine clients). template.yaml creates both; another issuer puts the scopes in its `scope` claim.
GROUPS = {"people-writers": WRITE_PEOPLE, "import-readers": READ_IMPORTS, "people-exporters": EXPORT_PEOPLE}
SCOPES = {
    "people-api/people.write": WRITE_PEOPLE,
    "people-api/imports.read": READ_IMPORTS,
    "people-api/people.export": EXPORT_PEOPLE,
}
GRANTS = GROUPS | SCOPES

# The routes each permission opens, as policy resources (`*` for a path parameter).
ROUTES = {
    READ_PEOPLE: (("GET", "/people"), ("GET", "/people/*"), ("GET", "/ids/lastname/*")),
    WRITE_PEOPLE: (("POST", "/people"), ("PATCH", "/people/*"), ("DELETE", "/people/*")),
    READ_IMPORTS: (("GET", "/imports"), ("GET", "/imports/*")),
    EXPORT_PEOPLE: (("POST", "/exports"), ("GET", "/exports"), ("GET", "/exports/*")),
}
OPEN_ROUTES = (("GET", "/ping"), ("GET", "/docs"), ("GET", "/docs/*"))  # /docs: the API's document as a page
ANONYMOUS = "anonymous"


class Caller(NamedTuple):
    """Who a token names, and what it may do."""

    sub: str
    username: str
    permissions: frozenset[str]


def caller_from_claims(claims: dict[str, Any]) -> Caller:
    """The caller a verified token names (its claims of the shapes `tokens.check_claim_shapes` allows);
    its groups and scopes become permissions."""
    grants = [*claims.get("cognito:groups", []), *claims.get("scope", "").split()]
    return Caller(
        sub=claims["sub"],
        username=claims.get("username") or claims.get("client_id") or claims["sub"],
        permissions=frozenset({READ_PEOPLE} | {GRANTS[g] for g in grants if g in GRANTS}),
    )


def caller_policy(caller: Caller, method_arn: str) -> dict[str, Any]:
    """Allow every route the caller's permissions open, in the API and stage of `method_arn`; the rest is denied.

    The caller rides along in the context, which API Gateway hands to the function as
    requestContext.authorizer (string values only).
    """
    context = {"sub": caller.sub, "username": caller.username, "permissions": " ".join(sorted(caller.permissions))}
    routes = [route for permission in sorted(caller.permissions) for route in ROUTES[permission]]
    return _policy(method_arn, caller.sub, routes, context)


def anyone_policy(method_arn: str) -> dict[str, Any]:
    """The routes open to anyone (no token looked at)."""
    return _policy(method_arn, ANONYMOUS, OPEN_ROUTES, None)


def _policy(method_arn: str, principal: str, routes, context: dict[str, str] | None) -> dict[str, Any]:
    # Imported here: only the authorizer builds policies, and every API function imports this module (caller_of).
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerResponse,
        parse_api_gateway_arn,
    )

    arn = parse_api_gateway_arn(method_arn)
    response = APIGatewayAuthorizerResponse(
        principal, arn.region, arn.aws_account_id, arn.api_id, arn.stage, context=context, partition=arn.partition
    )
    for method, resource in routes:
        response.allow_route(method, resource)
    return response.asdict()


def log_write(message: str, event: dict[str, Any], **fields: Any) -> None:
    """Log a write with who made it: the caller's `sub` (stable, opaque), not the username, which may be an email."""
    caller = caller_of(event)
    logger.info(message, caller_sub=caller.sub if caller else None, **fields)


def caller_of(event: dict[str, Any]) -> Caller | None:
    """The caller the authorizer let through, from a proxy event's requestContext; None on an open route."""
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    if not context.get("sub"):
        return None
    return Caller(context["sub"], context.get("username", ""), frozenset(context.get("permissions", "").split()))
