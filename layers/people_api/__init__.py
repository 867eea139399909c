"""Shared code of the People API: one Lambda layer for every function.

Packages by concern, imports running one way (handlers -> http -> people, imports, auth -> shared; exports ->
people, imports -> shared):

- `http/`: what API functions share: the resolver and its error table, requests, responses,
  conditional requests, page cursors.
- `people/`: the person (fields, rules, age inference) and the people table.
- `imports/`: the CSV import: reading, loading, records, progress, the S3 side.
- `exports/`: the export of every person as one CSV file: records, the snapshot's pages, the multipart upload.
- `auth/`: bearer tokens and who may do what (the authorizer's policy).
- shared, beside them: `config` (settings), `db` (the connection), `errors`, `observability`
  (logger, metrics), `migrations` (the schema), `custom_resource` (CloudFormation), `retention` (the daily purge
  of import and export records).

tests/unit/test_layer_imports.py holds the packages to that direction.
"""

from people_api.driver import defer_cryptography

defer_cryptography()
