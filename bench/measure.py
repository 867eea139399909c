"""What the benchmarks that run a handler in a process of their own share (beside throwaway.py's database): moto's
S3 server, the child's environment, the process's peak memory, and the Lambda context the handler reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free port (its URL), with fake AWS credentials: nothing reaches AWS."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server: no line per request
    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}.items():
        os.environ[name] = value
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        moto.stop()


def child_environment(database: str, s3_endpoint: str, **variables: str) -> dict[str, str]:
    """The environment of a handler run in a process of its own: the layer importable, the benchmark's database
    and S3 server, Powertools quiet (no log line or metric per row); `variables` add the function's own."""
    root = Path(__file__).resolve().parent.parent
    return os.environ | {
        "PYTHONPATH": f"{root}:{root / 'layers'}",
        "DB_NAME": database,
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        **variables,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it does not count the parent before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (the benchmarks measure memory on Linux)")


@dataclass(frozen=True)
class LambdaContext:
    """The fields of Lambda's context that a handler and Powertools read, for a benchmark's invocation."""

    function_name: str
    memory_limit_in_mb: int = 1769

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"

    @property
    def aws_request_id(self) -> str:
        return self.function_name

    def get_remaining_time_in_millis(self) -> int:
        return 900_000
