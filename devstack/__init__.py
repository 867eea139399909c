"""`make dev`: the whole People API on one machine, without Docker.

One process runs the API (SAM CLI's own API Gateway emulation) and an S3 endpoint (moto) whose
bucket notifies a queue that feeds the import function, and finds (or, with Docker, starts)
MySQL; each function's execution environments are processes of their own, started on demand
(devstack/functions.py). See docs/dev.md.
"""
