"""The API's Lambda authorizer: BearerToken (TOKEN) verifies the JWT; Anyone (REQUEST) opens /ping.

A refused token raises exactly "Unauthorized", which API Gateway answers with 401 (the
UNAUTHORIZED gateway response); a valid one gets a policy for every route it may call, and
API Gateway answers 403 (ACCESS_DENIED) for the others. See docs/auth.md.
"""

from functools import cache

from people_api.auth import access
from people_api.auth.tokens import TokenRefused, TokenVerifier
from people_api.config import auth_settings
from people_api.observability import logger

BEARER_PREFIX = "Bearer "


@cache
def verifier() -> TokenVerifier:
    """One per container: it keeps the issuer's keys between invocations."""
    return TokenVerifier(auth_settings())


@logger.inject_lambda_context
def lambda_handler(event, context):
    if event.get("type") == "REQUEST":
        return access.anyone_policy(event["methodArn"])
    header = event.get("authorizationToken") or ""
    try:
        if not header.startswith(BEARER_PREFIX):
            raise TokenRefused("not a Bearer authorization")
        claims = verifier().verify(header.removeprefix(BEARER_PREFIX).strip())
    except TokenRefused as refusal:
        logger.info("token refused", reason=str(refusal)[:300])
        raise Exception("Unauthorized") from None  # the exact message API Gateway turns into 401
    caller = access.caller_from_claims(claims)
    logger.info("token accepted", caller_sub=caller.sub, permissions=sorted(caller.permissions))
    return access.caller_policy(caller, event["methodArn"])
