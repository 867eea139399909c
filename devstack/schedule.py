"""The template's scheduled functions (`Schedule` events): run once at start, then once a day while the stack runs.

A local stack rarely runs until the time a cron expression names, so each scheduled function
runs when the stack is ready, as if its rule had just fired, and every 24 hours after that.
The event is EventBridge's Scheduled Event, as AWS documents it (docs/dev.md).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from devstack import logs
from devstack.functions import LambdaRunner
from devstack.settings import ACCOUNT_ID

DAY_SECONDS = 24 * 60 * 60


def scheduled_functions(runner: LambdaRunner) -> dict[str, str]:
    """Function name -> the name of its Schedule event, for every function that has one."""
    return {
        function.name: event_name
        for function in runner.functions.values()
        for event_name, event in function.events.items()
        if event.get("Type") == "Schedule"
    }


def scheduled_event(rule_name: str, region: str, now: datetime) -> dict[str, Any]:
    """What an EventBridge rule with a schedule sends its Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


class Schedules:
    def __init__(self, runner: LambdaRunner, region: str, interval_seconds: float = DAY_SECONDS):
        self.runner = runner
        self.region = region
        self.interval_seconds = interval_seconds
        self.functions = scheduled_functions(runner)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)

    def start(self) -> None:
        """Run each scheduled function now, then every `interval_seconds` in the background."""
        self.run_all()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def run_all(self) -> None:
        """Each scheduled function once; a failure is on the terminal (its traceback) and the others still run."""
        for function_name, event_name in self.functions.items():
            event = scheduled_event(f"{function_name}{event_name}", self.region, datetime.now(UTC))
            logs.say(f"{event_name} schedule -> {function_name}", source="schedule")
            try:
                self.runner.call(function_name, event)
            except Exception as error:  # its traceback is printed already; the schedule goes on
                logs.say(f"{function_name} failed: {type(error).__name__}", source="schedule")

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self.run_all()
