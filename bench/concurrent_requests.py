"""Latency through the local gateway under `make dev`: cold and warm, one request and a concurrent burst.

Starts the local stack (people.csv seeded, a throwaway database) once per setting of
FUNCTION_CONCURRENCY and measures `GET /people/age`:
  cold single   the first request to the function after the stack is ready (its first environment)
  cold burst    N concurrent requests right after: each new environment starts on its first one
  warm burst    the same N again, every environment warm
  warm single   median of 50 requests one after another
The baseline of the same run is the first setting (default: one environment per function).
Run: PYTHONPATH=.:layers .venv/bin/python bench/concurrent_requests.py [--requests N] [--environments 1,8,32]
     (`make bench` sets PYTHONPATH so)
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from devstack.functions import DEFAULT_CONCURRENCY
from devstack.subprocess_stack import running_stack

PATH = "/people/age?limit=100"
WARM_SINGLES = 50


def one(stack) -> float:
    started = time.perf_counter()
    reply = stack.request("GET", PATH, timeout=120)
    assert reply.status == 200, reply.body
    return time.perf_counter() - started


def burst(stack, requests: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(requests) as clients:
        each = list(clients.map(lambda _: one(stack), range(requests)))
    return time.perf_counter() - started, each


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--environments", default=f"1,8,{DEFAULT_CONCURRENCY}", help="FUNCTION_CONCURRENCY values")
    args = parser.parse_args()
    print(f"GET {PATH} on people.csv; bursts of {args.requests} concurrent requests; times in seconds")
    print(f"{'':<24}{'cold single':>12}{'cold burst':>22}{'warm burst':>22}{'warm single':>12}")
    print(f"{'':<24}{'':>12}{'wall':>8}{'median':>7}{'max':>7}{'wall':>8}{'median':>7}{'max':>7}{'median':>12}")
    baseline = None
    for environments in map(int, args.environments.split(",")):
        with running_stack(FUNCTION_CONCURRENCY=str(environments)) as stack:
            cold_single = one(stack)
            cold_wall, cold = burst(stack, args.requests)
            warm_wall, warm = burst(stack, args.requests)
            warm_single = statistics.median(one(stack) for _ in range(WARM_SINGLES))
        figures = (cold_single, cold_wall, warm_wall, warm_single)
        baseline = baseline or figures
        print(
            f"  FUNCTION_CONCURRENCY={environments:<2}{cold_single:>12.3f}"
            f"{cold_wall:>8.2f}{statistics.median(cold):>7.3f}{max(cold):>7.3f}"
            f"{warm_wall:>8.2f}{statistics.median(warm):>7.3f}{max(warm):>7.3f}{warm_single:>12.4f}"
        )
        ratios = "  ".join(f"{now / then:.2f}x" for now, then in zip(figures, baseline, strict=True))
        print(f"{'':<4}vs baseline (cold single, cold wall, warm wall, warm single): {ratios}")


if __name__ == "__main__":
    main()
