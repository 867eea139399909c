"""`make dev`'s schedules: the template's scheduled functions run at start, then at each interval, with the event
an EventBridge rule sends; one that fails does not stop the others or the next run."""

import threading
from pathlib import Path

from devstack.functions import LambdaFunction, LambdaRunner
from devstack.schedule import Schedules

ROOT = Path(__file__).resolve().parents[2]


def function(name: str, events: dict) -> LambdaFunction:
    return LambdaFunction(name, ROOT / "functions" / "ping", "app.lambda_handler", 128, 3, {}, events)


class RecordingRunner(LambdaRunner):
    """The runner with its calls recorded instead of made (the real call is exercised by the e2e test)."""

    def __init__(self, functions: dict[str, LambdaFunction]):
        super().__init__(functions, "eu-west-1")
        self.calls: list[tuple[str, dict]] = []
        self.third_call = threading.Event()

    def call(self, name: str, event):
        self.calls.append((name, event))
        if len(self.calls) >= 3:
            self.third_call.set()
        if name == "Broken":
            raise RuntimeError("boom")


def test_scheduled_functions_run_at_start_then_every_interval_and_a_failure_does_not_stop_them():
    runner = RecordingRunner(
        {
            "Broken": function("Broken", {"Nightly": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}}),
            "Purge": function(
                "Purge", {"Daily": {"Type": "Schedule", "Properties": {"Schedule": "cron(15 3 * * ? *)"}}}
            ),
            "Api": function("Api", {"Api": {"Type": "Api", "Properties": {"Path": "/ping", "Method": "get"}}}),
        }
    )
    schedules = Schedules(runner, "eu-west-1", interval_seconds=0.05)

    # When the stack starts: each scheduled function has run once before start() returns, the failing one too
    schedules.start()
    try:
        assert [name for name, _ in runner.calls[:2]] == ["Broken", "Purge"]
        # Then again after the interval
        assert runner.third_call.wait(5)
    finally:
        schedules.stop()

    assert "Api" not in {name for name, _ in runner.calls}
    _, event = runner.calls[1]
    assert (event["source"], event["detail-type"], event["detail"], event["region"]) == (
        "aws.events",
        "Scheduled Event",
        {},
        "eu-west-1",
    )
    assert event["resources"] == ["arn:aws:events:eu-west-1:123456789012:rule/PurgeDaily"]
