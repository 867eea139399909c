"""Settings read once from the environment (and, in AWS, Secrets Manager)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE = "people"
SECRET_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    user: str
    password: str
    database: str
    connect_timeout: int
    read_timeout: int
    write_timeout: int
    local_infile: bool  # the CSV import's LOAD DATA LOCAL; off for the API, whose server could then ask for files


def database_settings(environ: Mapping[str, str] = os.environ) -> DatabaseSettings:
    """`DB_*` variables; with `DB_SECRET_ARN`, the secret (RDS's JSON shape) fills in what they leave out."""
    secret = _rds_secret(environ["DB_SECRET_ARN"]) if environ.get("DB_SECRET_ARN") else {}
    return DatabaseSettings(
        host=environ.get("DB_HOST") or secret.get("host") or "127.0.0.1",
        port=int(environ.get("DB_PORT") or secret.get("port") or 3306),
        user=environ.get("DB_USER") or secret.get("username") or "root",
        password=environ.get("DB_PASSWORD") or secret.get("password") or "",
        database=environ.get("DB_NAME") or secret.get("dbname") or DEFAULT_DATABASE,
        connect_timeout=int(environ.get("DB_CONNECT_TIMEOUT", 3)),
        read_timeout=int(environ.get("DB_READ_TIMEOUT", 10)),
        write_timeout=int(environ.get("DB_WRITE_TIMEOUT", 10)),
        local_infile=environ.get("DB_LOCAL_INFILE", "").lower() in ("1", "true"),
    )


def _rds_secret(secret_arn: str) -> dict:
    # Imported here: boto3 costs cold-start time, and only deployments with a secret need it.
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(secret_arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
