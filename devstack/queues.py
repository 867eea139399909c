"""The template's SQS queues that feed a function (`AWS::Lambda::EventSourceMapping`), in moto, and a poller for each
that hands their messages to the function as Lambda's event source mapping does.

The export's queue is the one so far: POST /exports sends to it, and ExportPeopleFunction gets each message in an
SQS event. As in AWS, a message the function succeeded with is deleted; one it failed with comes back once its
visibility timeout passes (the function's timeout here), and goes to the dead-letter queue after the redrive
policy's receives.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from devstack import logs
from devstack.functions import LambdaRunner
from devstack.settings import ACCOUNT_ID

POLL_SECONDS = 1  # SQS long-poll wait: also how long stopping waits for a poller


@dataclass(frozen=True)
class QueueMapping:
    """One queue of the template, the function its messages go to, and the queue its failures end in."""

    queue: str  # logical id, also the queue's name here
    function: str
    batch_size: int
    dead_letter_queue: str | None
    max_receive_count: int


def _logical_id(arn: str) -> str:
    """SAM CLI resolves `!GetAtt Queue.Arn` to an ARN that ends in the logical id; that id is what is kept."""
    return arn.rsplit(":", 1)[-1]


def queue_mappings(resources: dict[str, Any]) -> list[QueueMapping]:
    """Every event source mapping of the template (resolved by SAM CLI) whose source is one of its queues."""
    mappings = []
    for resource in resources.values():
        if resource.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        queue = _logical_id(properties["EventSourceArn"])
        redrive = resources[queue]["Properties"].get("RedrivePolicy") or {}
        mappings.append(
            QueueMapping(
                queue=queue,
                function=properties["FunctionName"],
                batch_size=int(properties.get("BatchSize", 10)),
                dead_letter_queue=_logical_id(redrive["deadLetterTargetArn"]) if redrive else None,
                max_receive_count=int(redrive.get("maxReceiveCount", 0)),
            )
        )
    return mappings


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """What Lambda's SQS event source mapping hands the function for these received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class Queues:
    """The template's mapped queues in moto's SQS, their pollers, and the export bucket."""

    def __init__(self, runner: LambdaRunner, sqs, resources: dict[str, Any], region: str):
        self.runner, self._sqs, self._region = runner, sqs, region
        self.mappings = queue_mappings(resources)
        self.urls: dict[str, str] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for mapping in self.mappings:
            attributes = {"VisibilityTimeout": str(self.runner.functions[mapping.function].timeout_seconds)}
            if mapping.dead_letter_queue:
                dead = self._sqs.create_queue(QueueName=mapping.dead_letter_queue)["QueueUrl"]
                dead_arn = f"arn:aws:sqs:{self._region}:{ACCOUNT_ID}:{mapping.dead_letter_queue}"
                self.urls[mapping.dead_letter_queue] = dead
                attributes["RedrivePolicy"] = (
                    f'{{"deadLetterTargetArn": "{dead_arn}", "maxReceiveCount": "{mapping.max_receive_count}"}}'
                )
            self.urls[mapping.queue] = self._sqs.create_queue(QueueName=mapping.queue, Attributes=attributes)[
                "QueueUrl"
            ]
            # As many at once as the function may run (its reserved concurrency in the template is 2).
            workers = ThreadPoolExecutor(2, thread_name_prefix=f"{mapping.queue}-worker")
            thread = threading.Thread(
                target=self._poll, args=(mapping, workers), name=f"{mapping.queue}-poller", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _poll(self, mapping: QueueMapping, workers: ThreadPoolExecutor) -> None:
        url = self.urls[mapping.queue]
        arn = f"arn:aws:sqs:{self._region}:{ACCOUNT_ID}:{mapping.queue}"
        while not self._stop.is_set():
            reply = self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=mapping.batch_size,
                WaitTimeSeconds=POLL_SECONDS,
                AttributeNames=["All"],
            )
            messages = reply.get("Messages", [])
            if messages:
                workers.submit(self._deliver, mapping, url, messages, sqs_event(messages, arn, self._region))
        workers.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, mapping: QueueMapping, url: str, messages: list[dict], event: dict[str, Any]) -> None:
        logs.say(f"{len(messages)} message(s) of {mapping.queue} -> {mapping.function}", source="sqs")
        try:
            result = self.runner.call(mapping.function, event)
        except Exception:
            logs.say(f"{mapping.function} failed (trace above); the message comes back after its timeout", source="sqs")
            return
        logs.say(f"{mapping.function} returned {result}", source="sqs")
        for message in messages:
            self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
