"""The CSV import from S3.

- `s3_import`: an S3 event's objects, each imported once per content, all or nothing, with a report.
- `csv_reader`: CSV bytes to people, row by row, with the person rules.
- `loader`: the bulk load into the people table (LOAD DATA or INSERTs), inside the import's transaction.
- `feeder`: a generator run in a thread of its own.
- `record`: an import's record and its JSON (`GET /imports`, the S3 reports).
- `store`: SQL for the imports table, and the daily purge.
- `progress`: a running import's progress, written about once a second.
"""
