"""The import bucket: moto's S3 (and SQS) server, a bucket that notifies a queue, a poller that invokes the import.

`sam local` has no S3 trigger. Here the bucket's notification configuration is the template's
S3 event (its events and key filter), moto writes the S3 event into the queue as AWS would
send it, and the poller hands each one to the function the template names.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from devstack import logs, progress
from devstack.functions import LambdaFunction, LambdaRunner
from devstack.settings import aws_client
from people_api.imports.s3_import import created_objects

POLL_SECONDS = 1  # SQS long-poll wait: also how long stopping waits for the poller


def s3_trigger(functions: dict[str, LambdaFunction]) -> tuple[str, dict[str, Any]]:
    """The function with an S3 event in the template, and that event's properties."""
    for function in functions.values():
        for event in function.events.values():
            if event.get("Type") == "S3":
                return function.name, event["Properties"]
    raise LookupError("no function of the template has an S3 event")


def _queue_configuration(queue_arn: str, trigger: dict[str, Any]) -> dict[str, Any]:
    """The template's S3 event (Events, Filter.S3Key.Rules) as an S3 notification to a queue."""
    events = trigger["Events"]
    configuration: dict[str, Any] = {"QueueArn": queue_arn, "Events": [events] if isinstance(events, str) else events}
    rules = trigger.get("Filter", {}).get("S3Key", {}).get("Rules")
    if rules:
        configuration["Filter"] = {"Key": {"FilterRules": rules}}
    return configuration


class ImportBucket:
    def __init__(self, runner: LambdaRunner, host: str, port: int, bucket: str, region: str):
        self.runner = runner
        self.bucket = bucket
        self.url = f"http://{host}:{port}"
        self.function_name, self.trigger = s3_trigger(runner.functions)
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._region = region
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="s3-poller", daemon=True)
        self._handled: set[str] = set()
        self._handled_changed = threading.Condition()

    def client(self, service: str):
        return aws_client(service, self.url, self._region)

    def start(self) -> None:
        self._server.start()
        s3, sqs = self.client("s3"), self.client("sqs")
        s3.create_bucket(Bucket=self.bucket)
        # Hidden while the function runs, as a Lambda event source mapping wants it (visibility >= timeout).
        visibility = str(self.runner.functions[self.function_name].timeout_seconds)
        self._queue_url = sqs.create_queue(
            QueueName=f"{self.bucket}-events", Attributes={"VisibilityTimeout": visibility}
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        s3.put_bucket_notification_configuration(
            Bucket=self.bucket,
            NotificationConfiguration={"QueueConfigurations": [_queue_configuration(queue_arn, self.trigger)]},
        )
        self._sqs = sqs
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller.is_alive():
            self._poller.join()
        self._server.stop()

    def put(self, path: Path, key: str) -> None:
        self.client("s3").upload_file(str(path), self.bucket, key)

    def wait_until_handled(self, key: str, timeout: float) -> bool:
        """True once an event for object `key` went through the function (whatever its outcome)."""
        with self._handled_changed:
            return self._handled_changed.wait_for(lambda: key in self._handled, timeout)

    def _poll(self) -> None:
        while not self._stop.is_set():
            reply = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=POLL_SECONDS
            )
            for message in reply.get("Messages", []):
                self._handle(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _handle(self, event: dict[str, Any]) -> None:
        objects = created_objects(event)  # none in S3's s3:TestEvent, sent when the notification is configured
        if not objects:
            return
        # Keys in S3 events are URL-encoded (spaces as +); the event goes to the function as it is.
        keys = [obj.key for obj in objects]
        for key in keys:
            logs.say(f"s3://{self.bucket}/{key} created -> {self.function_name}", source="s3")
        try:
            with progress.watching(objects, self.function_name):
                result = self.runner.call(self.function_name, event)
            logs.say(f"{self.function_name} returned {_shortened(json.dumps(result))}", source="s3")
        except Exception:
            # Not retried here; AWS retries twice (the template's EventInvokeConfig), then parks the event.
            logs.say(f"{self.function_name} failed (trace above); not retried locally", source="s3")
        with self._handled_changed:
            self._handled.update(keys)
            self._handled_changed.notify_all()


def _shortened(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."
