"""Who may do what, through the API Gateway that `make dev` runs: SAM CLI's emulation, the real authorizer,
the real handlers and the test database, in this process.

Statuses, headers and bodies are the template's gateway responses (UNAUTHORIZED, ACCESS_DENIED...),
which API Gateway in AWS answers too; what devstack adds to SAM CLI for that is in devstack/api.py.
"""

from __future__ import annotations

import json

import pytest
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from conftest import ROOT, InProcessRunner
from devstack.api import api_gateway
from devstack.functions import template_functions
from tests.integration.test_authorizer import REFUSALS, WRONG_SHAPES

WRITER, IMPORT_READER = "people-writers", "import-readers"
NEW_PERSON = {"first_name": "Grace", "last_name": "Hopper", "age": 85}
UNAUTHORIZED = (401, {"message": "a valid bearer token is required"})
FORBIDDEN = (403, {"message": "this token does not allow this request"})

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SAM CLI's own use of jsonschema


def stacks(**parameters: str):
    return SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"), parameter_overrides=parameters)[0]


def gateway(template_stacks):
    """A fresh gateway and functions (a cold authorizer: it reads AUTH_* again)."""
    runner = InProcessRunner(template_functions(template_stacks, ROOT))
    return api_gateway(template_stacks, runner)._app.test_client()


@pytest.fixture(scope="module")
def default_stacks():
    return stacks()


@pytest.fixture(scope="module")
def private_reads_stacks():
    return stacks(PeopleReadsAuthorizer="BearerToken")


@pytest.fixture
def public_reads(default_stacks, token_issuer):
    return gateway(default_stacks)


@pytest.fixture
def private_reads(private_reads_stacks, token_issuer):
    return gateway(private_reads_stacks)


def call(client, method: str, path: str, token: str | None = None, header: str | None = None, body=None):
    headers = {"Authorization": header if header is not None else f"Bearer {token}"} if token or header else {}
    response = client.open(path, method=method, headers=headers, data=json.dumps(body) if body else None)
    return response


def status_and_json(response):
    return response.status_code, response.get_json()


def test_a_write_without_a_token_is_401_with_a_bearer_challenge(public_reads, people_db, token_issuer):
    response = call(public_reads, "POST", "/people", body=NEW_PERSON)

    assert status_and_json(response) == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "header",
    ["Basic YWRhOmxvdmVsYWNl", "Bearer", "Bearer not-a-jwt", "Bearer a.b.c", "Token abc"],
)
def test_a_write_with_a_bad_authorization_is_401(public_reads, people_db, token_issuer, header):
    response = call(public_reads, "POST", "/people", header=header, body=NEW_PERSON)

    assert status_and_json(response) == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("make_header", REFUSALS.values(), ids=REFUSALS.keys())
def test_every_refused_token_is_401_and_reaches_no_function(public_reads, token_issuer, make_header, caplog):
    header = make_header(token_issuer)

    response = call(public_reads, "POST", "/people", header=header, body=NEW_PERSON)

    assert status_and_json(response) == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert not [record for record in caplog.records if record.getMessage() == "person created"]
    # And the authorizer logged its reason (if the gateway called it)
    authorizer_lines = [record.getMessage() for record in caplog.records if record.funcName == "lambda_handler"]
    assert authorizer_lines in ([], ["token refused"])


@pytest.mark.parametrize("claims", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_a_signed_token_with_a_claim_of_the_wrong_shape_is_401_never_a_5xx(
    public_reads, people_db, token_issuer, claims
):
    response = call(public_reads, "POST", "/people", token_issuer.token([WRITER], **claims), body=NEW_PERSON)

    assert status_and_json(response) == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert [p["last_name"] for p in call(public_reads, "GET", "/people?limit=100").get_json()["people"]].count(
        "Hopper"
    ) == 0


def test_an_expired_token_is_401_and_nothing_is_written(public_reads, people_db, token_issuer):
    token = token_issuer.token([WRITER], exp=1_700_000_000, iat=1_699_990_000)

    response = call(public_reads, "POST", "/people", token, body=NEW_PERSON)

    assert status_and_json(response) == UNAUTHORIZED
    assert [p["last_name"] for p in call(public_reads, "GET", "/people?limit=100").get_json()["people"]].count(
        "Hopper"
    ) == 0


def test_a_valid_token_without_the_write_permission_is_403(public_reads, people_db, token_issuer):
    response = call(public_reads, "POST", "/people", token_issuer.token([IMPORT_READER]), body=NEW_PERSON)

    assert status_and_json(response) == FORBIDDEN
    assert "WWW-Authenticate" not in response.headers


def test_a_writer_creates_a_person(public_reads, people_db, token_issuer):
    response = call(public_reads, "POST", "/people", token_issuer.token([WRITER]), body=NEW_PERSON)

    assert response.status_code == 201
    assert response.get_json()["person"]["last_name"] == "Hopper"


def test_the_write_is_logged_with_the_callers_sub_not_their_username(public_reads, people_db, token_issuer, caplog):
    call(public_reads, "POST", "/people", token_issuer.token([WRITER]), body=NEW_PERSON)

    created = [record for record in caplog.records if record.getMessage() == "person created"]
    assert len(created) == 1
    assert created[0].caller_sub == "3f1c7a52-0d2e-4b8f-9a61-2b7e5c4d9e10"
    assert "ada" not in json.dumps({k: str(v) for k, v in vars(created[0]).items()})


def test_correcting_and_erasing_need_the_write_permission_like_post(public_reads, people_db, token_issuer):
    patch = {"body": {"age": 23}}
    for method, extra in (("PATCH", patch), ("DELETE", {})):
        assert status_and_json(call(public_reads, method, "/people/1", **extra)) == UNAUTHORIZED
        reader = token_issuer.token([IMPORT_READER])
        assert status_and_json(call(public_reads, method, "/people/1", reader, **extra)) == FORBIDDEN
    assert call(public_reads, "GET", "/people/1").get_json()["age"] == 22  # nothing changed

    writer = token_issuer.token([WRITER])
    headers = {"Authorization": f"Bearer {writer}", "Content-Type": "application/merge-patch+json"}
    corrected = public_reads.open("/people/1", method="PATCH", headers=headers, data=json.dumps({"age": 23}))
    assert (corrected.status_code, corrected.get_json()["age"]) == (200, 23)
    assert call(public_reads, "DELETE", "/people/1", writer).status_code == 204


def test_reads_that_need_a_token_are_private_in_caches(public_reads, private_reads, people_db, token_issuer):
    public = call(public_reads, "GET", "/people/1")
    private = call(private_reads, "GET", "/people/1", token_issuer.token())
    imports = call(public_reads, "GET", "/imports", token_issuer.token([IMPORT_READER]))

    assert public.headers["Cache-Control"] == "public, max-age=3"
    assert private.headers["Cache-Control"] == "private, max-age=3"
    assert imports.headers["Cache-Control"] == "private, max-age=3"


@pytest.mark.parametrize("path", ["/imports", "/imports/1"])
def test_imports_need_the_import_permission(public_reads, people_db, token_issuer, path):
    assert status_and_json(call(public_reads, "GET", path)) == UNAUTHORIZED
    assert status_and_json(call(public_reads, "GET", path, token_issuer.token([WRITER]))) == FORBIDDEN
    assert call(public_reads, "GET", path, token_issuer.token([IMPORT_READER])).status_code in (200, 404)


@pytest.mark.parametrize("path", ["/people", "/people/age", "/people/1", "/ids/lastname/Smith", "/ping"])
def test_reads_are_public_by_default(public_reads, people_db, token_issuer, path):
    assert call(public_reads, "GET", path).status_code == 200


@pytest.mark.parametrize("path", ["/people", "/people/age", "/people/1", "/ids/lastname/Smith"])
def test_with_PeopleReadsAuthorizer_the_reads_need_any_valid_token(private_reads, people_db, token_issuer, path):
    assert status_and_json(call(private_reads, "GET", path)) == UNAUTHORIZED
    assert status_and_json(call(private_reads, "GET", path, header="Bearer a.b.c")) == UNAUTHORIZED
    assert call(private_reads, "GET", path, token_issuer.token()).status_code == 200


def test_with_private_reads_ping_stays_open_whatever_the_header(private_reads, token_issuer):
    assert call(private_reads, "GET", "/ping").status_code == 200
    assert call(private_reads, "GET", "/ping", header="Bearer garbage").status_code == 200


def test_issuer_down_is_503_not_401(public_reads, people_db, token_issuer, capsys):
    token_issuer.reachable = False

    response = call(public_reads, "POST", "/people", token_issuer.token([WRITER]), body=NEW_PERSON)

    assert status_and_json(response) == (503, {"message": "tokens cannot be checked right now; try again"})
    assert "Traceback" in capsys.readouterr().err  # a fault shows its trace


@pytest.mark.parametrize(
    ("method", "path", "groups", "status"),
    [
        ("POST", "/exports", None, 401),
        ("GET", "/exports/1", None, 401),
        ("GET", "/exports", [WRITER], 403),
        ("POST", "/exports", [WRITER, IMPORT_READER], 403),
        ("DELETE", "/exports/1", None, 404),
        ("PUT", "/exports", None, 404),
    ],
)
def test_the_gateways_own_refusals_of_the_export_are_no_store(
    public_reads, people_db, token_issuer, method, path, groups, status
):
    """README, Caching: every error is no-store; a 404 is cacheable by default (RFC 9111) unless it says so."""
    token = token_issuer.token(groups) if groups else None

    response = call(public_reads, method, path, token)

    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
