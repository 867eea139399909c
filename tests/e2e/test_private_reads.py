"""`make dev` with PEOPLE_READS_AUTHORIZER=BearerToken, the stack parameter that makes the people reads private."""

from __future__ import annotations

import pytest

from devstack.subprocess_stack import running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack():
    with running_stack(PEOPLE_READS_AUTHORIZER="BearerToken", SEED="0") as running:
        yield running


@pytest.mark.parametrize("path", ["/people", "/people/age", "/people/1", "/ids/lastname/Smith"])
def test_the_reads_need_a_token(stack, path):
    refused = stack.request("GET", path)
    allowed = stack.request("GET", path, headers={"Authorization": f"Bearer {stack.token()}"})

    assert (refused.status, refused.json) == (401, {"message": "a valid bearer token is required"})
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert allowed.status in (200, 404)  # /people/1: nobody was seeded


def test_ping_stays_open(stack):
    assert (stack.request("GET", "/ping").status, stack.request("GET", "/ping").body) == (200, "pong")


def test_the_banner_says_so(stack):
    assert any("the people reads need a token too" in line for line in stack.lines)
