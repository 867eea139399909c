"""The export of every person as one CSV file (docs/export.md).

- `s3_export`: the queue's message, the export's lock, one snapshot streamed into a multipart upload, the URL.
- `store`: SQL for the exports table, and the pages of CSV lines the server builds.
- `record`: an export's record and its JSON (`POST /exports`, `GET /exports`, `GET /exports/{id}`).
"""
