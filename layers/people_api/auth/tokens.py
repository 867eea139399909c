"""Bearer tokens: a JWT access token checked against the issuer's keys and claims (PyJWT)."""

from __future__ import annotations

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


class TokenRefused(Exception):
    """The token is not one this API accepts; the message says why (for logs, not for the client)."""


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
            raise TokenRefused(f"not a JWT: {error}") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise TokenRefused(f"algorithm {header.get('alg')!r} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenRefused("no key id (kid)")
        try:
            key = self._keys.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as error:
            raise IssuerUnavailable(str(error)) from error
        except jwt.PyJWKClientError:
            raise TokenRefused(f"no key {kid!r} at the issuer") from None
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
            raise TokenRefused(f"{type(error).__name__}: {error}") from None
        if cognito:
            # Cognito access tokens name the app client in client_id (no aud); ID tokens say token_use "id".
            if claims.get("token_use") != "access":
                raise TokenRefused(f"token_use is {claims.get('token_use')!r}, not 'access'")
            if claims.get("client_id") not in self.settings.audiences:
                raise TokenRefused("issued to another app client")
        return claims
