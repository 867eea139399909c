"""Bearer tokens: a JWT access token checked against the issuer's keys and claims (PyJWT)."""

from __future__ import annotations

import math
import re
from typing import Any

import jwt

from people_api.config import AuthSettings

# Asymmetric only: `none` and HS256 (whose "secret" could be the issuer's public key) are never accepted.
ALLOWED_ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30  # clock skew tolerated on exp, nbf and iat
MAX_TOKEN_CHARS = 8192
KEYS_LIFESPAN_SECONDS = 900  # the issuer's key set, cached per container
UNKNOWN_KID_COOLDOWN_SECONDS = 60  # at most one fetch a minute for a `kid` not in the cached set
KEYS_TIMEOUT_SECONDS = 3
# A NumericDate is a JSON number of seconds since the epoch (RFC 7519, section 2), here one that a
# datetime can hold: up to the end of year 9999. PyJWT reads exp, iat and nbf with int(), which also
# takes "1700000000", true and 10**50 (jpadilla/pyjwt#121, #1171).
MAX_NUMERIC_DATE = 253_402_300_799
# `sub`: 1 to 255 printable ASCII characters, no space at either end (OpenID Connect Core 1.0, section 2:
# "It MUST NOT exceed 255 ASCII characters in length"); Cognito's is a UUID. It names the caller in the
# policy, the context the functions read (an empty one would read as anonymous) and the logs.
_SUBJECT = re.compile(r"[!-~](?:[ -~]{0,253}[!-~])?")
MAX_USERNAME_CHARS = 128  # Cognito's limit on a user name


class TokenRefused(Exception):
    """The token is not one this API accepts; the message says why (for logs, not for the client), in a few
    words that name what is wrong and never quote the token."""


class IssuerUnavailable(Exception):
    """The issuer's keys could not be fetched: no fault of the token."""


class TokenVerifier:
    """Checks tokens against one issuer; keeps its key set between calls (one per container)."""

    def __init__(self, settings: AuthSettings):
        self.settings = settings
        self._keys = jwt.PyJWKClient(
            settings.jwks_url,
            lifespan=KEYS_LIFESPAN_SECONDS,
            timeout=KEYS_TIMEOUT_SECONDS,
            cooldown_duration=UNKNOWN_KID_COOLDOWN_SECONDS,
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or TokenRefused (IssuerUnavailable when the keys cannot be fetched)."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused(f"longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRefused(f"not a JWT ({_refusal(error)})") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise TokenRefused(f"the algorithm (alg) is not one of {', '.join(ALLOWED_ALGORITHMS)}")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenRefused("no key id (kid)")
        try:
            key = self._keys.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as error:
            raise IssuerUnavailable(str(error)) from error
        except jwt.PyJWKClientError:
            raise TokenRefused("the issuer has no key of its key id (kid)") from None
        cognito = self.settings.issuer_is_cognito
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALLOWED_ALGORITHMS),
                issuer=self.settings.issuer,
                audience=None if cognito else list(self.settings.audiences),
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": not cognito},
            )
        except jwt.PyJWTError as error:
            raise TokenRefused(_refusal(error)) from None
        check_claim_shapes(claims)
        if cognito:
            # Cognito access tokens name the app client in client_id (no aud); ID tokens say token_use "id".
            if claims.get("token_use") != "access":
                raise TokenRefused("token_use is not 'access'")
            if claims.get("client_id") not in self.settings.audiences:
                raise TokenRefused("issued to another app client")
        return claims


def check_claim_shapes(claims: dict[str, Any]) -> None:
    """TokenRefused unless every claim the API reads has the shape issuers write (docs/auth.md, Claims).

    PyJWT has checked that `iss` and `sub` are strings and, when it checks `aud`, that `aud` is a string or a
    list of strings; the rest is checked here. A reason names the claim, never its value.
    """
    for name in ("exp", "iat", "nbf"):
        if name in claims and not _is_numeric_date(claims[name]):
            raise TokenRefused(f"{name} is not a NumericDate (a number of seconds from 0 to {MAX_NUMERIC_DATE})")
    if not (isinstance(claims.get("sub"), str) and _SUBJECT.fullmatch(claims["sub"])):
        raise TokenRefused("sub is not 1 to 255 printable ASCII characters")
    for name in ("client_id", "token_use", "scope"):
        if name in claims and not isinstance(claims[name], str):
            raise TokenRefused(f"{name} is not a string")
    username = claims.get("username", "-")
    if not (isinstance(username, str) and 0 < len(username) <= MAX_USERNAME_CHARS):
        raise TokenRefused(f"username is not a string of 1 to {MAX_USERNAME_CHARS} characters")
    if not _is_list_of_strings(claims.get("cognito:groups", [])):
        raise TokenRefused("cognito:groups is not a list of strings")
    audience = claims.get("aud", [])
    if not (isinstance(audience, str) or _is_list_of_strings(audience)):
        raise TokenRefused("aud is not a string or a list of strings")


def _refusal(error: jwt.PyJWTError) -> str:
    """Why PyJWT refused, by its error's kind: its messages can quote the token (an unknown `crit` extension)."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"{type(error).__name__} ({error.claim})"
    return type(error).__name__


def _is_list_of_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_numeric_date(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= MAX_NUMERIC_DATE
    )
