"""The local token issuer: a Cognito user pool in moto (on the S3 endpoint's server), trusted by `make dev` only.

moto signs every pool's tokens with one key pair that ships in the moto package, so nothing it
issues can be trusted outside this machine: the authorizer fetches keys over plain HTTP only from a
loopback host (people_api.config.auth_settings), and a deployed stack trusts its own issuer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from botocore.exceptions import ConnectionError as EndpointUnreachable

from devstack.settings import REGION, Settings, aws_client
from people_api.auth import access

POOL_NAME = "people-api-dev"
CLIENT_NAME = "people-api-dev"
USERNAME = "dev"
PASSWORD = "Local-only-1"  # the dev user of moto's pool on this machine; not a secret anywhere


class NoLocalIssuer(Exception):
    """`make dev` is not running where the settings say; the message says how to start it."""


@dataclass(frozen=True)
class LocalIssuer:
    pool_id: str
    client_id: str
    endpoint: str
    region: str

    @property
    def environment(self) -> dict[str, str]:
        """AUTH_* for the authorizer: tokens as moto issues them, keys from moto's server."""
        return {
            "AUTH_ISSUER": f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}",
            "AUTH_AUDIENCE": self.client_id,
            "AUTH_JWKS_URL": f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json",
        }


def create(endpoint: str, region: str) -> LocalIssuer:
    """A user pool with the permission groups, an app client, and a dev user in every group."""
    cognito = aws_client("cognito-idp", endpoint, region)
    pool_id = cognito.create_user_pool(PoolName=POOL_NAME)["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName=CLIENT_NAME, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username=USERNAME, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=USERNAME, Password=PASSWORD, Permanent=True)
    for group in sorted(access.GROUPS):
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=USERNAME, GroupName=group)
    return LocalIssuer(pool_id, client_id, endpoint, region)


def find(endpoint: str, region: str = REGION) -> LocalIssuer:
    """The pool `make dev` created on the moto server at `endpoint`, or NoLocalIssuer saying what to start."""
    cognito = aws_client("cognito-idp", endpoint, region)
    try:
        pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    except EndpointUnreachable as error:
        raise NoLocalIssuer(f"nothing answers at {endpoint}: start `make dev` (with the same S3_PORT)") from error
    pool_id = next((pool["Id"] for pool in pools if pool["Name"] == POOL_NAME), None)
    if pool_id is None:
        raise NoLocalIssuer(f"the server at {endpoint} has no {POOL_NAME} user pool: is it `make dev`?")
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next(client["ClientId"] for client in clients if client["ClientName"] == CLIENT_NAME)
    return LocalIssuer(pool_id, client_id, endpoint, region)


def access_token(endpoint: str, region: str = REGION) -> str:
    """A fresh access token of the dev user (every permission), from the pool `make dev` created."""
    issuer = find(endpoint, region)
    result = aws_client("cognito-idp", endpoint, region).initiate_auth(
        ClientId=issuer.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": USERNAME, "PASSWORD": PASSWORD},
    )
    return result["AuthenticationResult"]["AccessToken"]


def main() -> int:
    """`make token`: print one access token for the stack `make dev` runs with the same settings."""
    try:
        print(access_token(Settings.from_environ().s3_url))
    except NoLocalIssuer as problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
