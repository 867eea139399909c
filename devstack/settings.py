"""What `make dev`, `make token` and `make put` share: where the stack is, its region and account, its AWS clients."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LAYER_DIR = ROOT / "layers"  # the layer's package as Lambda puts it on the path (/opt/python)
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account: the ARNs of a local stack
DEFAULT_API_PORT = 3000
DEFAULT_S3_PORT = 4566
DEFAULT_BUCKET = "people-import"
EXPORT_BUCKET = "people-export"


@dataclass(frozen=True)
class Settings:
    """What the environment tells `make dev` (and the commands that find it), besides DB_* (people_api.config)."""

    host: str
    api_port: int
    s3_port: int
    bucket: str
    seed: bool
    reads_authorizer: str  # the template's PeopleReadsAuthorizer: "BearerToken" makes the reads need a token
    cors_allowed_origins: str  # the template's CorsAllowedOrigins: browser origins that may call the API
    function_concurrency: int | None  # execution environments per function (docs/dev.md); None: the default
    export_bucket: str = EXPORT_BUCKET  # where POST /exports writes its files (never the import bucket)

    @classmethod
    def from_environ(cls) -> Settings:
        return cls(
            host="127.0.0.1",
            api_port=int(os.environ.get("API_PORT", DEFAULT_API_PORT)),
            s3_port=int(os.environ.get("S3_PORT", DEFAULT_S3_PORT)),
            bucket=os.environ.get("BUCKET", DEFAULT_BUCKET),
            seed=os.environ.get("SEED", "1") != "0",
            reads_authorizer=os.environ.get("PEOPLE_READS_AUTHORIZER", ""),
            cors_allowed_origins=os.environ.get("CORS_ALLOWED_ORIGINS", ""),
            function_concurrency=int(os.environ.get("FUNCTION_CONCURRENCY") or 0) or None,
        )

    @property
    def finding_variables(self) -> str:
        """What `make token` and `make put` need to be told to find this stack (`API_PORT=3100 ...`): the
        variables whose value is not their default, as a command's prefix (empty with the defaults)."""
        given = {"API_PORT": self.api_port, "S3_PORT": self.s3_port, "BUCKET": self.bucket}
        defaults = {"API_PORT": DEFAULT_API_PORT, "S3_PORT": DEFAULT_S3_PORT, "BUCKET": DEFAULT_BUCKET}
        return "".join(f"{name}={shlex.quote(str(value))} " for name, value in given.items() if value != defaults[name])

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def s3_url(self) -> str:
        """moto's server: S3, SQS and the local issuer's Cognito."""
        return f"http://{self.host}:{self.s3_port}"


def database_environment(database) -> dict[str, str]:
    """DB_* for every function of a local stack: the server `database` (a people_api.config.DatabaseSettings)
    names, without TLS unless asked, and no secrets (the template names RDS Proxy and Secrets Manager)."""
    return {
        "DB_HOST": database.host,
        "DB_PORT": str(database.port),
        "DB_USER": database.user,
        "DB_PASSWORD": database.password,
        "DB_NAME": database.database,
        "DB_TLS": "true" if database.tls else "false",
        "DB_SECRET_ARN": "",  # a local stack has no secret: DB_* say everything
        "APP_DB_SECRET_ARN": "",  # nor the API's own database user: everything signs in as DB_USER
    }


def aws_client(service: str, endpoint: str, region: str = REGION):
    """A boto3 client of the local moto server (which takes any credentials); nothing here reaches AWS."""
    import boto3  # here: devstack sets the process environment before anything loads boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="devstack",
        aws_secret_access_key="devstack",
    )
