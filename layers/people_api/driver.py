"""PyMySQL without the `cryptography` it imports up front: loaded only by a login that needs it.

PyMySQL's `_auth` imports `cryptography` (about a tenth of an API function's cold start, README, Speed)
for one exchange: the RSA-encrypted password of a `caching_sha2_password` (MySQL 8.4's default) or
`sha256_password` login over a connection without TLS. Over TLS (RDS Proxy, DB_TLS) the password goes
in the clear inside TLS, and MariaDB's native logins need no RSA either. So `_auth` is imported with
`cryptography` held back, and its one function that uses it imports it on its first call, then does
what it always did. `people_api/__init__.py` installs this before any module of the layer imports PyMySQL;
pinned PyMySQL (layers/requirements.txt); tests/unit/test_cold_start.py checks both halves.
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder

_AUTH = "pymysql._auth"


class _AuthLoader:
    """The loader PyMySQL's `_auth` has, running it with `cryptography` unimportable."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        sys.modules["cryptography"] = None  # `import cryptography...` raises ImportError meanwhile
        try:
            self.loader.exec_module(module)
        finally:
            del sys.modules["cryptography"]
        module.sha2_rsa_encrypt = _importing_cryptography(module, module.sha2_rsa_encrypt)


def _importing_cryptography(auth, sha2_rsa_encrypt):
    def encrypt(password, salt, public_key):
        if not auth._have_cryptography:  # the names `_auth` imports at the top when it can
            from cryptography.hazmat.backends import default_backend
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import padding

            auth.default_backend, auth.hashes, auth.serialization, auth.padding = (
                default_backend,
                hashes,
                serialization,
                padding,
            )
            auth._have_cryptography = True
        return sha2_rsa_encrypt(password, salt, public_key)

    return encrypt


class _AuthFinder:
    """Finds `pymysql._auth` where Python would, and hands it to `_AuthLoader`; then steps aside."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != _AUTH:
            return None
        sys.meta_path.remove(cls)
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and "cryptography" not in sys.modules:
            spec.loader = _AuthLoader(spec.loader)
        return spec


def defer_cryptography() -> None:
    """From now on, the first import of PyMySQL leaves `cryptography` for the login that needs it."""
    if _AUTH not in sys.modules and _AuthFinder not in sys.meta_path:
        sys.meta_path.insert(0, _AuthFinder)
