"""The Lambda authorizer, called as API Gateway calls it (TOKEN events), against an issuer serving its keys.

A refused token must end the invocation with exactly `Exception("Unauthorized")`: that message,
and only it, is what API Gateway answers with 401 (docs/auth.md). An accepted one gets a policy;
`allows` evaluates it as API Gateway does (IAM resource wildcards) for any route, which is what
API Gateway does with a cached policy on the token's next calls.
"""

from __future__ import annotations

import base64
import json
import time
from fnmatch import fnmatchcase

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import TokenIssuer, invoke, load_event
from functions.authorizer import app
from people_api.auth.access import GROUPS

API = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/v1"
WRITER, IMPORT_READER, EXPORTER = "people-writers", "import-readers", "people-exporters"
assert set(GROUPS) == {WRITER, IMPORT_READER, EXPORTER}

# Every secured route of template.yaml, with a concrete path (the last test holds this list to the template).
READS = [
    ("GET", "/people"),
    ("GET", "/people/age"),
    ("GET", "/people/changes"),
    ("GET", "/people/7"),
    ("GET", "/ids/lastname/O'Neil"),
]
WRITES = [("POST", "/people"), ("PATCH", "/people/7"), ("DELETE", "/people/7")]
IMPORT_READS = [("GET", "/imports"), ("GET", "/imports/3")]
EXPORTS = [("POST", "/exports"), ("GET", "/exports"), ("GET", "/exports/3")]
EVERY_SECURED_ROUTE = READS + WRITES + IMPORT_READS + EXPORTS


@pytest.fixture(autouse=True)
def fresh_container():
    """Each test is a new container: no verifier, no cached keys."""
    app.verifier.cache_clear()
    yield
    app.verifier.cache_clear()


def method_arn(method: str, path: str) -> str:
    return f"{API}/{method}{path}"


def authorize(header: str | None, method: str = "POST", path: str = "/people") -> dict:
    event = {"type": "TOKEN", "methodArn": method_arn(method, path)}
    if header is not None:
        event["authorizationToken"] = header
    return invoke("authorizer", event)


def allows(policy: dict, method: str, path: str) -> bool:
    """IAM's evaluation of an authorizer policy: an explicit Deny wins, else any matching Allow."""
    arn = method_arn(method, path)

    def matches(statement: dict) -> bool:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        return statement["Action"] == "execute-api:Invoke" and any(fnmatchcase(arn, r) for r in resources)

    statements = policy["policyDocument"]["Statement"]
    if any(s["Effect"] == "Deny" and matches(s) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and matches(s) for s in statements)


def refused(header: str | None) -> str:
    """The authorizer's error message for this Authorization header (it must raise)."""
    with pytest.raises(Exception) as raised:
        authorize(header)
    assert type(raised.value) is Exception
    return str(raised.value)


def _b64(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = [WRITER, IMPORT_READER]
    return f"{header}.{_b64(claims)}.{signature}"


def _public_pem(issuer: TokenIssuer) -> bytes:
    return issuer.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _hs256_with_public_key(issuer: TokenIssuer) -> str:
    # PyJWT refuses to sign with a PEM as an HMAC secret (that is the attack), so sign by hand.
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'})}.{_b64(issuer.claims([WRITER]))}"
    signature = hmac.new(_public_pem(issuer), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _alg_none(issuer: TokenIssuer) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'rsa-1'})}.{_b64(issuer.claims([WRITER]))}."


REFUSALS = {
    "no header": lambda i: None,
    "empty header": lambda i: "",
    "Basic scheme": lambda i: "Basic YWRhOmxvdmVsYWNl",
    "bearer lower case": lambda i: f"bearer {i.token([WRITER])}",
    "Bearer without a token": lambda i: "Bearer ",
    "not a JWT": lambda i: "Bearer not-a-jwt",
    "three parts of garbage": lambda i: "Bearer a.b.c",
    "tampered payload": lambda i: f"Bearer {_tampered(i.token())}",
    "alg none": lambda i: f"Bearer {_alg_none(i)}",
    "HS256 signed with the public key": lambda i: f"Bearer {_hs256_with_public_key(i)}",
    "ES256 header on the RSA key": lambda i: f"Bearer {i.token([WRITER], headers={'kid': 'ec-1'})}",
    "RS384 (not allowed)": lambda i: f"Bearer {i.token([WRITER], algorithm='RS384')}",
    "expired a minute ago": lambda i: f"Bearer {i.token([WRITER], exp=int(time.time()) - 60)}",
    "not yet valid (nbf)": lambda i: f"Bearer {i.token([WRITER], nbf=int(time.time()) + 120)}",
    "issued in the future (iat)": lambda i: f"Bearer {i.token([WRITER], iat=int(time.time()) + 120)}",
    "without exp": lambda i: f"Bearer {i.token([WRITER], exp=None)}",
    "without sub": lambda i: f"Bearer {i.token([WRITER], sub=None)}",
    "wrong issuer": lambda i: f"Bearer {i.token([WRITER], iss='https://cognito-idp.eu-west-1.amazonaws.com/other')}",
    "another app client": lambda i: f"Bearer {i.token([WRITER], client_id='someone-elses-client')}",
    "unknown kid": lambda i: f"Bearer {i.token([WRITER], headers={'kid': 'rotated-away'})}",
    "no kid": lambda i: f"Bearer {i.token([WRITER], headers={'kid': None})}",
    "signed by another key": lambda i: f"Bearer {i.token([WRITER], key=TokenIssuer().rsa_key)}",
    "an ID token": lambda i: f"Bearer {i.token([WRITER], token_use='id', client_id=None, aud=i.CLIENT_ID)}",
    "9 KB": lambda i: f"Bearer {i.token([WRITER], padding='x' * 9000)}",
    "header a JSON array": lambda i: f"Bearer {_b64([])}.{_b64(i.claims())}.c2ln",
    "header a JSON string": lambda i: f"Bearer {_b64('RS256')}.{_b64(i.claims())}.c2ln",
    "kid a number": lambda i: f"Bearer {_b64({'alg': 'RS256', 'kid': 7})}.{_b64(i.claims())}.c2ln",
    "alg a list": lambda i: f"Bearer {_b64({'alg': ['RS256'], 'kid': 'rsa-1'})}.{_b64(i.claims())}.c2ln",
    "non-ASCII": lambda i: "Bearer \u00e9\u00e9.\u00e9.\u00e9",
    "payload not JSON": lambda i: f"Bearer {_b64({'alg': 'RS256', 'kid': 'rsa-1'})}.bm90IGpzb24.c2ln",
}


@pytest.mark.parametrize("make_header", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_token_is_exactly_unauthorized(token_issuer, make_header):
    assert refused(make_header(token_issuer)) == "Unauthorized"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_valid_token_of_either_allowed_algorithm_is_accepted(token_issuer, algorithm):
    policy = authorize(f"Bearer {token_issuer.token([WRITER], algorithm=algorithm)}")

    assert allows(policy, "POST", "/people")


def test_clock_skew_within_the_leeway_is_tolerated(token_issuer):
    now = int(time.time())
    token = token_issuer.token([WRITER], exp=now - 20, iat=now + 20, nbf=now + 20)

    assert allows(authorize(f"Bearer {token}"), "POST", "/people")


def test_the_caller_rides_in_the_context_as_strings(token_issuer):
    policy = authorize(f"Bearer {token_issuer.token([WRITER])}")

    assert policy["principalId"] == "3f1c7a52-0d2e-4b8f-9a61-2b7e5c4d9e10"
    assert policy["context"] == {
        "sub": "3f1c7a52-0d2e-4b8f-9a61-2b7e5c4d9e10",
        "username": "ada",
        "permissions": "people:read people:write",
    }


PERMISSIONS = {
    "no group": ([], READS),
    "people-writers": ([WRITER], READS + WRITES),
    "import-readers": ([IMPORT_READER], READS + IMPORT_READS),
    "people-exporters": ([EXPORTER], READS + EXPORTS),
    "every group": ([WRITER, IMPORT_READER, EXPORTER], EVERY_SECURED_ROUTE),
    "a group this API does not know": (["admins"], READS),
}


@pytest.mark.parametrize(("groups", "opened"), PERMISSIONS.values(), ids=PERMISSIONS.keys())
def test_the_policy_a_token_gets_is_the_same_whichever_route_asked_and_right_for_every_route(
    token_issuer, groups, opened
):
    # Given one token, authorized first on each route in turn (API Gateway caches whichever came first)
    token = f"Bearer {token_issuer.token(groups)}"
    policies = [authorize(token, method, path) for method, path in EVERY_SECURED_ROUTE]

    # Then the policy does not depend on the route that asked
    assert all(policy == policies[0] for policy in policies)
    # And, reused for any route, it allows exactly the token's routes: a reader's cached allow lets no
    # POST through, a writer's cached policy refuses no read
    assert {route for route in EVERY_SECURED_ROUTE if allows(policies[0], *route)} == set(opened)
    # And nothing outside this API and stage
    resources = [r for statement in policies[0]["policyDocument"]["Statement"] for r in statement["Resource"]]
    assert all(resource.startswith(f"{API}/") for resource in resources)


# Claims of a shape no issuer writes, in a token the issuer signed: each is a 401, never a 5xx, never a caller
# the functions would take for anonymous (an empty sub), never a grant read past.
NOW = int(time.time())
WRONG_SHAPES = {
    "client_id a list": {"client_id": [TokenIssuer.CLIENT_ID]},
    "client_id an object": {"client_id": {"id": TokenIssuer.CLIENT_ID}},
    "client_id a number": {"client_id": 7},
    "sub empty": {"sub": ""},
    "sub a number": {"sub": 7},
    "sub a list": {"sub": ["3f1c7a52"]},
    "sub of 256 characters": {"sub": "s" * 256},
    "sub with a control character": {"sub": "3f1c\n7a52"},
    "sub with a space at its end": {"sub": "3f1c7a52 "},
    "sub not ASCII": {"sub": "3f1c7a52-\u00e9"},
    "exp a string of digits": {"exp": str(NOW + 3600)},
    "exp true": {"exp": True},
    "exp past year 9999": {"exp": 10**50},
    "exp a list": {"exp": [NOW + 3600]},
    "iat a string of digits": {"iat": str(NOW)},
    "iat negative": {"iat": -1},
    "nbf a string of digits": {"nbf": "0"},
    "nbf false": {"nbf": False},
    "token_use a list": {"token_use": ["access"]},
    "token_use a number": {"token_use": 1},
    "scope a list": {"scope": ["people-api/people.write"]},
    "scope a number": {"scope": 7},
    "cognito:groups a string": {"cognito:groups": WRITER},
    "cognito:groups with a number": {"cognito:groups": [WRITER, 7]},
    "cognito:groups with an object": {"cognito:groups": [{"group": WRITER}]},
    "username a list": {"username": ["ada"]},
    "username empty": {"username": ""},
    "username a number": {"username": 7},
    "aud a number": {"aud": 7},
    "aud a list with a number": {"aud": [TokenIssuer.CLIENT_ID, 7]},
    "iss a list": {"iss": [TokenIssuer.ISSUER]},
}


@pytest.mark.parametrize("claims", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_a_signed_token_whose_claim_has_the_wrong_shape_is_exactly_unauthorized(token_issuer, claims):
    assert refused(f"Bearer {token_issuer.token([WRITER], **claims)}") == "Unauthorized"


def test_an_issuer_with_audiences_refuses_a_client_id_or_username_of_the_wrong_shape(token_issuer, monkeypatch):
    monkeypatch.setenv("AUTH_ISSUER", "https://login.example.com/tenant")
    monkeypatch.setenv("AUTH_AUDIENCE", "people-api")
    common = {"iss": "https://login.example.com/tenant", "aud": "people-api", "token_use": None}

    for odd in ({"client_id": ["x"]}, {"client_id": 7, "username": None}, {"username": {"name": "ada"}}):
        app.verifier.cache_clear()
        assert refused(f"Bearer {token_issuer.token(**common, **odd)}") == "Unauthorized", odd


ACCEPTED_SHAPES = {
    "exp with a fraction (RFC 7519 NumericDate)": {"exp": NOW + 3600.5, "iat": NOW - 0.25},
    "sub of 255 characters": {"sub": "s" * 255},
    "sub with inner spaces and punctuation": {"sub": "auth0|a b~c"},
    "no scope and no groups": {"scope": None},
    "empty groups": {"cognito:groups": []},
    "aud a list of strings": {"aud": ["someone", "else"]},
}


@pytest.mark.parametrize("claims", ACCEPTED_SHAPES.values(), ids=ACCEPTED_SHAPES.keys())
def test_claims_of_every_shape_an_issuer_writes_are_accepted(token_issuer, claims):
    policy = authorize(f"Bearer {token_issuer.token(**claims)}")

    assert allows(policy, "GET", "/people")
    assert policy["principalId"] == claims.get("sub", "3f1c7a52-0d2e-4b8f-9a61-2b7e5c4d9e10")


def test_machine_clients_get_permissions_from_their_scopes(token_issuer):
    token = token_issuer.token(scope="people-api/imports.read", username=None, sub="machine-client-id")

    policy = authorize(f"Bearer {token}")

    assert allows(policy, "GET", "/imports") and not allows(policy, "POST", "/people")
    assert policy["context"]["username"] == token_issuer.CLIENT_ID


def test_the_export_scope_opens_the_exports_and_nothing_else_a_reader_lacks(token_issuer):
    token = token_issuer.token(scope="people-api/people.export", username=None, sub="machine-client-id")

    policy = authorize(f"Bearer {token}")

    assert all(allows(policy, *route) for route in EXPORTS)
    assert not allows(policy, "GET", "/imports") and not allows(policy, "POST", "/people")


def test_an_issuer_with_audiences_checks_aud_instead_of_client_id(token_issuer, monkeypatch):
    monkeypatch.setenv("AUTH_ISSUER", "https://login.example.com/tenant")
    monkeypatch.setenv("AUTH_AUDIENCE", "people-api")
    common = {"iss": "https://login.example.com/tenant", "client_id": None, "token_use": None}

    accepted = authorize(f"Bearer {token_issuer.token(**common, aud='people-api')}")

    assert accepted["principalId"]
    for audience in ("someone-else", None):
        app.verifier.cache_clear()
        assert refused(f"Bearer {token_issuer.token(**common, aud=audience)}") == "Unauthorized"


def test_keys_are_fetched_once_per_container(token_issuer):
    for _ in range(5):
        authorize(f"Bearer {token_issuer.token([WRITER])}")

    assert token_issuer.keys_served == 1


def test_an_unknown_kid_refreshes_the_keys_at_most_once_a_minute(token_issuer):
    # Given a container that has the keys
    authorize(f"Bearer {token_issuer.token([WRITER])}")

    # When a flood of tokens names keys the issuer does not have
    for n in range(20):
        assert refused(f"Bearer {token_issuer.token([WRITER], headers={'kid': f'forged-{n}'})}") == "Unauthorized"

    # Then the issuer was asked once at start and never again within the cooldown
    assert token_issuer.keys_served == 1


def test_a_rotated_key_is_picked_up_by_an_unknown_kid_after_the_cooldown(token_issuer, monkeypatch):
    authorize(f"Bearer {token_issuer.token([WRITER])}")
    # The issuer rotates: a new RSA key under a new kid
    new_key = TokenIssuer().rsa_key
    jwks = token_issuer.jwks

    def rotated():
        served = jwks()
        import jwt

        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(new_key.public_key()))
        served["keys"].append(public | {"kid": "rsa-2", "alg": "RS256", "use": "sig"})
        return served

    monkeypatch.setattr(token_issuer, "jwks", rotated)
    token = f"Bearer {token_issuer.token([WRITER], key=new_key, headers={'kid': 'rsa-2'})}"
    keys = app.verifier()._keys
    monkeypatch.setattr(keys, "_last_successful_fetch", time.monotonic() - 61)

    assert allows(authorize(token), "POST", "/people")
    assert token_issuer.keys_served == 2


def test_an_issuer_that_cannot_be_reached_is_not_a_refusal(token_issuer):
    # Keys unreachable: API Gateway must not say 401 (the token may be fine); the error is a 5xx gateway response
    token_issuer.reachable = False

    with pytest.raises(Exception) as raised:
        authorize(f"Bearer {token_issuer.token([WRITER])}")

    assert str(raised.value) != "Unauthorized"


def test_ping_is_open_to_anyone_and_only_ping():
    event = {"type": "REQUEST", "methodArn": method_arn("GET", "/ping"), "headers": {"Authorization": "Bearer x"}}

    policy = invoke("authorizer", event)

    assert allows(policy, "GET", "/ping")
    assert not any(allows(policy, *route) for route in EVERY_SECURED_ROUTE)


def test_the_sample_event_is_refused_as_unauthorized(token_issuer):
    with pytest.raises(Exception, match="^Unauthorized$"):
        invoke("authorizer", load_event("authorizer"))


def test_the_routes_above_are_every_secured_route_of_the_template():
    from tests.unit.test_routes_match import ROOT, template_access

    secured = {route for route, kind in template_access(ROOT).items() if kind != "open"}

    for method, path in secured:
        pattern = path.replace("{}", "*")
        assert any(m == method and fnmatchcase(p, pattern) for m, p in EVERY_SECURED_ROUTE), (method, path)
