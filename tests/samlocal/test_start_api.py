"""`sam local start-api` over HTTP: the cases of the `make dev` e2e suite that apply, and where SAM CLI's
emulation answers otherwise than API Gateway (and `make dev`, which answers as API Gateway does): docs/dev.md,
With Docker: sam local.

The tests share one API and run in file order (the people written first are the ones paged through).
"""

from __future__ import annotations

import pytest

from devstack.issuer import PASSWORD
from devstack.settings import REGION, aws_client

pytestmark = pytest.mark.samlocal

PIONEERS = [
    {"first_name": "Ada", "last_name": "Lovelace", "age": 36},
    {"first_name": "Grace", "last_name": "Hopper", "age": 85},
    {"first_name": "Alan", "last_name": "Turing", "age": 41},
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def reader_token(local_issuer, moto_on_bridge) -> str:
    """A token of a user who may read the imports but not write people."""
    endpoint, _ = moto_on_bridge
    cognito = aws_client("cognito-idp", endpoint, REGION)
    pool = local_issuer.pool_id
    cognito.admin_create_user(UserPoolId=pool, Username="reader", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="reader", Password=PASSWORD, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="reader", GroupName="import-readers")
    answer = cognito.initiate_auth(
        ClientId=local_issuer.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "reader", "PASSWORD": PASSWORD},
    )
    return answer["AuthenticationResult"]["AccessToken"]


def test_ping(api):
    reply = api.request("GET", "/ping")

    assert (reply.status, reply.body) == (200, "pong")


def test_writes_with_a_token_of_the_local_issuer(api, token):
    for person in PIONEERS:
        created = api.request("POST", "/people", person, bearer(token))
        assert created.status == 201, created.body
        person["id"] = created.json["person"]["id"]

    read = api.request("GET", f"/people/{PIONEERS[0]['id']}")

    assert read.status == 200
    assert (read.json["first_name"], read.json["age"]) == ("Ada", 36)


def test_people_by_age_pages_through_everyone_once(api):
    ours = {p["id"] for p in PIONEERS}
    seen, cursor = [], None
    while True:
        reply = api.request("GET", "/people/age?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert reply.status == 200, reply.body
        seen += [(p["age"], p["last_name"]) for p in reply.json["people"] if p["id"] in ours]
        cursor = reply.json["next_cursor"]
        if cursor is None:
            break

    assert seen == sorted((p["age"], p["last_name"]) for p in PIONEERS)


def test_ids_by_last_name(api):
    reply = api.request("GET", "/ids/lastname/TURING")

    assert (reply.status, reply.json["ids"]) == (200, [PIONEERS[2]["id"]])


def test_a_cursor_the_api_did_not_hand_out_is_400(api):
    reply = api.request("GET", "/people/age?cursor=bm90LWEtY3Vyc29y.AAAA")

    assert reply.status == 400, reply.body


def test_a_person_who_breaks_the_rules_is_422(api, token):
    reply = api.request("POST", "/people", {"age": 30}, bearer(token))

    assert reply.status == 422, reply.body


def test_a_token_with_the_permission_reads_the_imports(api, reader_token):
    assert api.request("GET", "/imports", headers=bearer(reader_token)).status == 200


# Where SAM CLI answers otherwise than API Gateway with this template (whose gateway responses it does not
# apply) and than `make dev` (tests/e2e/test_devstack.py): each listed in docs/dev.md.


def test_no_token_is_401_with_sam_clis_own_body_and_no_www_authenticate(api):
    reply = api.request("POST", "/people", PIONEERS[0])

    assert (reply.status, reply.json) == (401, {"message": "Unauthorized"})
    assert "WWW-Authenticate" not in reply.headers  # API Gateway: `Bearer`, from the UNAUTHORIZED response


def test_a_token_the_authorizer_refuses_is_502_not_401(api):
    reply = api.request("POST", "/people", PIONEERS[0], bearer("not.a.jwt"))

    assert (reply.status, reply.json) == (502, {"message": "Internal server error"})


def test_a_token_without_the_permission_is_403_with_sam_clis_own_body(api, reader_token):
    reply = api.request("POST", "/people", PIONEERS[0], bearer(reader_token))

    assert (reply.status, reply.json) == (403, {"message": "User is not authorized to access this resource"})


def test_no_route_is_403_missing_authentication_token_not_404(api):
    reply = api.request("GET", "/nowhere")

    assert (reply.status, reply.json) == (403, {"message": "Missing Authentication Token"})


def test_a_percent_encoded_slash_in_a_path_parameter_is_no_route(api):
    """API Gateway hands `a%2Fb` to the function as one segment (docs/dev.md, Paths); SAM CLI decodes first."""
    reply = api.request("GET", "/ids/lastname/a%2Fb")

    assert (reply.status, reply.json) == (403, {"message": "Missing Authentication Token"})


def test_the_authorizer_runs_for_every_request_with_the_same_token(api, token):
    """API Gateway reuses an answer for AuthCacheSeconds (300 s) per token; SAM CLI asks every time."""

    def accepted() -> int:
        return api.output.read_text().count('"message":"token accepted"')

    before = accepted()
    for _ in range(2):
        assert api.request("GET", "/imports", headers=bearer(token)).status == 200

    assert accepted() == before + 2
