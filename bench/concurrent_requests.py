"""Concurrent requests to one function under `make dev`: one execution environment against the default cap.

Starts the local stack (people.csv seeded, a throwaway database) once per setting of
FUNCTION_CONCURRENCY, fires N concurrent `GET /people/age` and reports the wall time, the
median and slowest request, and the ratio to the one-environment baseline of the same run.
Run: .venv/bin/python bench/concurrent_requests.py [--requests N] [--environments 1,8,32]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "layers")]  # as pytest's pythonpath and rootdir conftest

from devstack.functions import DEFAULT_CONCURRENCY  # noqa: E402
from tests.e2e.local_stack import running_stack  # noqa: E402


def burst(stack, requests: int) -> tuple[float, list[float]]:
    def one(_) -> float:
        started = time.perf_counter()
        reply = stack.request("GET", "/people/age?limit=100", timeout=120)
        assert reply.status == 200, reply.body
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(requests) as clients:
        each = list(clients.map(one, range(requests)))
    return time.perf_counter() - started, each


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--environments", default=f"1,8,{DEFAULT_CONCURRENCY}", help="FUNCTION_CONCURRENCY values")
    args = parser.parse_args()
    baseline = None
    print(f"{args.requests} concurrent GET /people/age (people.csv), after one warm-up burst each")
    for environments in map(int, args.environments.split(",")):
        with running_stack(FUNCTION_CONCURRENCY=str(environments)) as stack:
            burst(stack, args.requests)  # cold starts of every environment
            wall, each = burst(stack, args.requests)
        baseline = baseline or wall
        print(
            f"  FUNCTION_CONCURRENCY={environments:<3} wall {wall:6.2f} s  median {statistics.median(each):6.3f} s"
            f"  slowest {max(each):6.3f} s  ({baseline / wall:.1f}x the one-environment rate)"
        )


if __name__ == "__main__":
    main()
