"""What every API function shares.

- `resolver`: `make_resolver()`, and the one table of which error is answered with which status.
- `requests`: path ids, page parameters, JSON bodies and headers, read and checked.
- `responses`: JSON bodies, error answers, caching headers.
- `conditional`: If-Match and If-None-Match against an ETag.
- `cursors`: signed page cursors and the API's listings.
"""
