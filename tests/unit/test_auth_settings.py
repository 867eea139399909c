"""The authorizer's settings: which issuers and key URLs it accepts (a deployed stack never trusts a local issuer)."""

import re

import pytest

from conftest import load_template
from people_api.config import SettingsInvalid, auth_settings

COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"


def test_the_keys_default_to_the_issuers_well_known_jwks():
    settings = auth_settings({"AUTH_ISSUER": f"{COGNITO}/", "AUTH_AUDIENCE": "a, b,"})

    assert settings.jwks_url == f"{COGNITO}/.well-known/jwks.json"
    assert settings.audiences == {"a", "b"}
    assert settings.issuer_is_cognito


@pytest.mark.parametrize("jwks_url", ["http://127.0.0.1:4566/pool/.well-known/jwks.json", "http://localhost:1/k"])
def test_keys_over_plain_http_only_from_this_machine(jwks_url):
    assert auth_settings({"AUTH_ISSUER": COGNITO, "AUTH_AUDIENCE": "a", "AUTH_JWKS_URL": jwks_url}).jwks_url == jwks_url


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"AUTH_AUDIENCE": "a"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "http://127.0.0.1:4566/pool", "AUTH_AUDIENCE": "a"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": COGNITO}, "AUTH_AUDIENCE"),
        ({"AUTH_ISSUER": COGNITO, "AUTH_AUDIENCE": " , "}, "AUTH_AUDIENCE"),
        (
            {"AUTH_ISSUER": COGNITO, "AUTH_AUDIENCE": "a", "AUTH_JWKS_URL": "http://keys.example.com/jwks"},
            "AUTH_JWKS_URL",
        ),
        ({"AUTH_ISSUER": COGNITO, "AUTH_AUDIENCE": "a", "AUTH_JWKS_URL": "file:///etc/passwd"}, "AUTH_JWKS_URL"),
    ],
)
def test_settings_that_would_trust_the_wrong_keys_are_refused(environment, named):
    with pytest.raises(SettingsInvalid, match=named):
        auth_settings(environment)


def test_an_issuer_that_only_looks_like_cognito_is_not_treated_as_cognito():
    settings = auth_settings({"AUTH_ISSUER": "https://cognito-idp.evil.example/pool", "AUTH_AUDIENCE": "a"})

    assert not settings.issuer_is_cognito


@pytest.mark.parametrize("parameter", ["AuthIssuerUrl", "AuthJwksUrl"])
def test_the_stack_accepts_only_https_issuers(parameter):
    pattern = load_template()["Parameters"][parameter]["AllowedPattern"]

    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, "https://login.example.com/tenant")
    assert not re.fullmatch(pattern, "http://127.0.0.1:4566/us-east-1_dev")
