"""Bearer tokens and permissions.

- `tokens`: JWT access tokens checked against the issuer's keys (PyJWT).
- `access`: the permissions a token carries, the routes each opens, the authorizer's policy.
"""
