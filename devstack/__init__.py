"""`make dev`: the whole People API on one machine, without Docker.

One process runs the API (SAM CLI's own API Gateway emulation, calling the real handlers
in-process), an S3 endpoint (moto) whose bucket notifies a queue that feeds the import
function, and finds (or, with Docker, starts) MySQL. See docs/dev.md.
"""
