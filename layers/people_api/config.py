"""The functions' settings: one model of every environment variable, validated when a function starts.

Adding a setting is adding a field: its name in capitals is the variable's name. An empty
variable counts as unset. In AWS, Secrets Manager fills in what the `DB_*` variables leave out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

DEFAULT_DATABASE = "people"
SECRET_MAX_AGE_SECONDS = 300


class SettingsInvalid(ValueError):
    """An environment variable has a value the functions cannot use; the message names it."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    db_host: str | None = None
    db_port: int | None = Field(None, ge=1, le=65535)
    db_user: str | None = None
    db_password: str | None = None
    db_name: str | None = None
    db_secret_arn: str | None = None  # an RDS-style secret (JSON) with what the DB_* variables leave out
    db_connect_timeout: int = Field(3, ge=1)
    db_read_timeout: int = Field(10, ge=1)
    db_write_timeout: int = Field(10, ge=1)
    db_local_infile: bool = False  # the CSV import's LOAD DATA LOCAL; off for the API, whose server could ask for files
    db_tls: bool = False  # verified TLS with the system's CA store: RDS Proxy, whose certificates come from ACM
    app_db_secret_arn: str | None = None  # the Migrate function's: the least-privileged user it creates
    max_import_bytes: int = Field(256 * 1024 * 1024, ge=1)
    import_load_method: Literal["auto", "load_data", "insert"] = "auto"  # auto: LOAD DATA where the server allows it
    auth_issuer: str | None = None  # the authorizer's: the token issuer (`iss`)
    auth_audience: str | None = None  # comma-separated `aud` (or Cognito `client_id`) values accepted
    auth_jwks_url: str | None = None  # the issuer's keys; default <issuer>/.well-known/jwks.json
    cursor_key: SecretStr | None = Field(None, min_length=32)  # signs page cursors (http/cursors.py), locally
    cursor_key_secret_arn: str | None = None  # in AWS: the secret holding the cursor key (template: CursorKeySecret)
    read_cache_seconds: int = Field(3, ge=0)  # Cache-Control max-age of successful reads
    import_retention_days: int = Field(30, ge=1)  # import records older than this are purged (template parameter)
    cors_allowed_origins: str = ""  # comma-separated browser origins that may read the answers (template parameter)


def read_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings the environment gives; SettingsInvalid names each variable that is not valid."""
    values = {name: environ[name.upper()] for name in Settings.model_fields if environ.get(name.upper())}
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{problem['loc'][0].upper()}: {problem['msg']}" for problem in error.errors())
        raise SettingsInvalid(f"invalid environment: {problems}") from None


@dataclass(frozen=True)
class DatabaseSettings:
    """What a connection needs, once the secret (if any) has filled in what the variables leave out."""

    host: str
    port: int
    user: str
    password: str
    database: str
    connect_timeout: int
    read_timeout: int
    write_timeout: int
    local_infile: bool
    tls: bool  # TLS required, chain and host name verified (system CA store): RDS Proxy, with ACM certificates


@dataclass(frozen=True)
class AppUser:
    """The least-privileged account the migrations create for the API and the import."""

    username: str
    password: str = field(repr=False)


def database_settings(environ: Mapping[str, str] = os.environ) -> DatabaseSettings:
    """`DB_*` variables; with `DB_SECRET_ARN`, the secret (RDS's JSON shape) fills in what they leave out."""
    settings = read_settings(environ)
    secret = _rds_secret(settings.db_secret_arn) if settings.db_secret_arn else {}
    return DatabaseSettings(
        host=settings.db_host or secret.get("host") or "127.0.0.1",
        port=int(settings.db_port or secret.get("port") or 3306),
        user=settings.db_user or secret.get("username") or "root",
        password=settings.db_password or secret.get("password") or "",
        database=settings.db_name or secret.get("dbname") or DEFAULT_DATABASE,
        connect_timeout=settings.db_connect_timeout,
        read_timeout=settings.db_read_timeout,
        write_timeout=settings.db_write_timeout,
        local_infile=settings.db_local_infile,
        tls=settings.db_tls,
    )


def app_user(environ: Mapping[str, str] = os.environ) -> AppUser | None:
    """`APP_DB_SECRET_ARN` (the Migrate function's): the account to create; None where there is none."""
    secret_arn = read_settings(environ).app_db_secret_arn
    if not secret_arn:
        return None
    secret = _rds_secret(secret_arn)
    return AppUser(username=secret["username"], password=secret["password"])


def cursor_key(environ: Mapping[str, str] = os.environ) -> bytes:
    """The key that signs page cursors: `CURSOR_KEY`, or the secret `CURSOR_KEY_SECRET_ARN` names (cached)."""
    settings = read_settings(environ)
    if settings.cursor_key is not None:
        return settings.cursor_key.get_secret_value().encode()
    if settings.cursor_key_secret_arn:
        from aws_lambda_powertools.utilities import parameters

        return parameters.get_secret(settings.cursor_key_secret_arn, max_age=SECRET_MAX_AGE_SECONDS).encode()
    raise SettingsInvalid("invalid environment: CURSOR_KEY or CURSOR_KEY_SECRET_ARN must be set to sign page cursors")


def _rds_secret(secret_arn: str) -> dict:
    # Imported here: boto3 costs cold-start time, and only deployments with a secret need it.
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(secret_arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS)


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class AuthSettings:
    issuer: str
    audiences: frozenset[str]
    jwks_url: str

    @property
    def issuer_is_cognito(self) -> bool:
        """Cognito access tokens carry `client_id` and `token_use` instead of `aud`."""
        host = urlsplit(self.issuer).hostname or ""
        return host.startswith("cognito-idp.") and host.endswith(".amazonaws.com")


def auth_settings(environ: Mapping[str, str] = os.environ) -> AuthSettings:
    """`AUTH_ISSUER`, `AUTH_AUDIENCE` and `AUTH_JWKS_URL`, or SettingsInvalid naming what is missing or wrong.

    Keys are fetched over HTTPS only; plain HTTP is accepted for a loopback host (the local issuer of `make dev`),
    which no deployed function can reach, so a deployed stack never trusts a local issuer's keys.
    """
    settings = read_settings(environ)
    issuer = (settings.auth_issuer or "").rstrip("/")
    audiences = frozenset(a.strip() for a in (settings.auth_audience or "").split(",") if a.strip())
    jwks_url = settings.auth_jwks_url or f"{issuer}/.well-known/jwks.json"
    if not issuer.startswith("https://"):
        raise SettingsInvalid(f"invalid environment: AUTH_ISSUER must be an https:// URL, not {issuer!r}")
    if not audiences:
        raise SettingsInvalid("invalid environment: AUTH_AUDIENCE names no audience (client id)")
    url = urlsplit(jwks_url)
    if url.scheme != "https" and not (url.scheme == "http" and url.hostname in LOOPBACK_HOSTS):
        raise SettingsInvalid(
            f"invalid environment: AUTH_JWKS_URL must be https:// (or http:// on a loopback host), not {jwks_url!r}"
        )
    return AuthSettings(issuer=issuer, audiences=audiences, jwks_url=jwks_url)
