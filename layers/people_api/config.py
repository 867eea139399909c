"""The functions' settings: every environment variable, read and checked once when a function starts.

Adding a setting is adding a field with its default, and its parser to PARSERS unless it is text: its name in
capitals is the variable's name. An empty variable counts as unset. In AWS, Secrets Manager fills in what the
`DB_*` variables leave out.
NamedTuples and small parsers, not a validation model (building one cost each function start about a quarter
of its cold start) nor dataclasses (@dataclass writes and compiles each class's methods at import: about 5 ms
of every cold start for these four; issue 20, README, Speed). No `from __future__ import annotations`: NamedTuple
compiles each field's annotation given as a string, which doubled Settings' cost on Python 3.13.
"""

import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

DEFAULT_DATABASE = "people"
SECRET_MAX_AGE_SECONDS = 300
IMPORT_LOAD_METHODS = ("auto", "load_data", "insert")  # auto: LOAD DATA where the server allows it


class SettingsInvalid(ValueError):
    """An environment variable has a value the functions cannot use; the message names it."""


def _text(value: str) -> str:
    return value


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """A parser of whole numbers written in decimal digits, from `low` (to `high`)."""
    expected = f"a whole number from {low} to {high}" if high is not None else f"a whole number of at least {low}"

    def parse(value: str) -> int:
        digits = value.strip()
        if not (digits.removeprefix("-").isascii() and digits.removeprefix("-").isdigit()):
            raise ValueError(f"must be {expected}, in decimal digits")
        number = int(digits)
        if number < low or (high is not None and number > high):
            raise ValueError(f"must be {expected}, not {number}")
        return number

    return parse


_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def _flag(value: str) -> bool:
    word = value.strip().lower()
    if word not in _TRUE | _FALSE:
        raise ValueError("must be true or false")
    return word in _TRUE


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


def _at_least_characters(length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:  # a secret: the message never quotes it
        if len(value) < length:
            raise ValueError(f"must be at least {length} characters, not {len(value)}")
        return value

    return parse


class Settings(NamedTuple):
    """Every setting, parsed from its variable (or its default)."""

    db_host: str | None = None
    db_port: int | None = None
    db_user: str | None = None
    db_password: str | None = None  # secret
    db_name: str | None = None
    db_secret_arn: str | None = None  # an RDS-style secret (JSON) with what the DB_* variables leave out
    db_connect_timeout: int = 3
    db_read_timeout: int = 10
    db_write_timeout: int = 10
    # The CSV import's LOAD DATA LOCAL; off for the API, whose server could ask for files.
    db_local_infile: bool = False
    db_tls: bool = False  # verified TLS with the system's CA store: RDS Proxy, with ACM certificates
    app_db_secret_arn: str | None = None  # the Migrate function's: the least-privileged user it creates
    max_import_bytes: int = 256 * 1024 * 1024
    import_load_method: str = "auto"
    # A mirror (imports/mode.py) that would erase more of the people than this share is refused, unless mirror-all.
    mirror_max_erase_percent: int = 10
    auth_issuer: str | None = None  # the authorizer's: the token issuer (`iss`)
    auth_audience: str | None = None  # comma-separated `aud` (or Cognito `client_id`) values accepted
    auth_jwks_url: str | None = None  # the issuer's keys; default <issuer>/.well-known/jwks.json
    cursor_key: str | None = None  # secret: signs page cursors (http/cursors.py), locally
    cursor_key_secret_arn: str | None = None  # in AWS: the secret holding the cursor key (CursorKeySecret)
    read_cache_seconds: int = 3  # Cache-Control max-age of successful reads
    import_retention_days: int = 30  # import records older than this are purged
    change_retention_days: int = 30  # the change feed's tombstones are kept this long
    # The export (docs/export.md): where its files go, the queue POST /exports sends to, how long a download
    # URL works (at most 7 days, SigV4's limit), and how long export records are kept.
    export_bucket: str | None = None
    export_queue_url: str | None = None
    export_url_seconds: int = 900
    export_retention_days: int = 7
    cors_allowed_origins: str = ""  # comma-separated browser origins that may read the answers

    def __repr__(self) -> str:
        """Without the secrets (SECRETS): a repr can end up in a log line."""
        shown = ", ".join(f"{name}={value!r}" for name, value in self._asdict().items() if name not in SECRETS)
        return f"Settings({shown})"


# The parser of each setting that is not text.
PARSERS: dict[str, Callable[[str], Any]] = {
    "db_port": _whole(1, 65535),
    "db_connect_timeout": _whole(1),
    "db_read_timeout": _whole(1),
    "db_write_timeout": _whole(1),
    "db_local_infile": _flag,
    "db_tls": _flag,
    "max_import_bytes": _whole(1),
    "import_load_method": _one_of(*IMPORT_LOAD_METHODS),
    "mirror_max_erase_percent": _whole(0, 100),
    "cursor_key": _at_least_characters(32),
    "read_cache_seconds": _whole(0),
    "import_retention_days": _whole(1),
    "change_retention_days": _whole(1),
    "export_url_seconds": _whole(1, 604800),
    "export_retention_days": _whole(1),
}
SECRETS = frozenset({"db_password", "cursor_key"})  # never in a message or a repr
_FIELDS = tuple((name, name.upper(), PARSERS.get(name, _text)) for name in Settings._fields)


def read_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings the environment gives; SettingsInvalid names each variable that is not valid.

    Checked once per set of values: a warm function (and each page cursor it signs) gets the same object back.
    """
    return _settings_of(tuple(environ.get(variable) or None for _, variable, _ in _FIELDS))


@lru_cache(maxsize=16)
def _settings_of(values: tuple[str | None, ...]) -> Settings:
    parsed, problems = {}, []
    for (name, variable, parse), value in zip(_FIELDS, values, strict=True):
        if value is None:
            continue
        try:
            parsed[name] = parse(value)
        except ValueError as error:
            problems.append(f"{variable}: {error}")
    if problems:
        raise SettingsInvalid(f"invalid environment: {'; '.join(problems)}")
    return Settings(**parsed)


class DatabaseSettings(NamedTuple):
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

    def __repr__(self) -> str:
        """Without the password: a repr can end up in a log line."""
        shown = ", ".join(f"{name}={value!r}" for name, value in self._asdict().items() if name != "password")
        return f"DatabaseSettings({shown})"


class AppUser(NamedTuple):
    """The least-privileged account the migrations create for the API and the import."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"AppUser(username={self.username!r})"  # never the password


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
    """The key that signs page cursors: `CURSOR_KEY`, or the secret `CURSOR_KEY_SECRET_ARN` names (cached).

    Only those two variables are read: the key signs or checks every cursor of a warm function, and reading all
    of read_settings' variables took longer than the signature (every other one was checked at cold start).
    """
    key, secret_arn = environ.get("CURSOR_KEY"), environ.get("CURSOR_KEY_SECRET_ARN")
    if key:
        return _cursor_key_bytes(key)
    if secret_arn:
        from aws_lambda_powertools.utilities import parameters

        return parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE_SECONDS).encode()
    raise SettingsInvalid("invalid environment: CURSOR_KEY or CURSOR_KEY_SECRET_ARN must be set to sign page cursors")


@lru_cache(maxsize=4)
def _cursor_key_bytes(key: str) -> bytes:
    try:
        return PARSERS["cursor_key"](key).encode()
    except ValueError as error:  # the message never quotes the key
        raise SettingsInvalid(f"invalid environment: CURSOR_KEY: {error}") from None


def _rds_secret(secret_arn: str) -> dict:
    # Imported here: boto3 costs cold-start time, and only deployments with a secret need it.
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(secret_arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS)


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class AuthSettings(NamedTuple):
    """What the authorizer accepts: the issuer, its audiences (client ids) and where its keys are."""

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
