"""CloudFormation custom resources: run an action on Create and Update, nothing on Delete, always answer.

CloudFormation waits for one answer, a JSON document PUT to the request's pre-signed `ResponseURL`
(docs/deploy.md#custom-resource). A function that times out or raises without answering leaves
the stack waiting until the resource's ServiceTimeout, so every path here ends in an answer: the
action's result, its error, or, when the function is about to time out, a FAILED that says so.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from people_api.observability import logger

ANSWER_MARGIN_SECONDS = 10.0  # left for answering CloudFormation before Lambda stops the function
MAX_REASON_CHARS = 1000  # the whole answer must stay under CloudFormation's 4096 bytes
SEND_ATTEMPTS = 3
SEND_TIMEOUT_SECONDS = 10.0


def is_request(event: Any) -> bool:
    """True for a CloudFormation custom resource request, False for a manual invocation."""
    return isinstance(event, Mapping) and "RequestType" in event and "ResponseURL" in event


def handle(
    event: Mapping[str, Any],
    seconds_left: Callable[[], float],
    action: Callable[[], Mapping[str, Any]],
    *,
    margin_seconds: float = ANSWER_MARGIN_SECONDS,
) -> dict[str, Any]:
    """Run `action` for Create and Update and answer CloudFormation; return the answer sent.

    The action runs in a worker thread so that the wait for it can end `margin_seconds` before
    the function's deadline; what it returns becomes the resource's `Data` (strings).
    """
    request_type = event.get("RequestType")
    try:
        if request_type == "Delete":
            answer = _answer(event, "SUCCESS")
        elif request_type in ("Create", "Update"):
            answer = _run(event, seconds_left, action, margin_seconds)
        else:
            answer = _answer(event, "FAILED", reason=f"unknown RequestType {request_type!r}")
    except Exception as error:  # any failure still has to reach CloudFormation
        logger.exception("custom resource request failed")
        answer = _answer(event, "FAILED", reason=f"{type(error).__name__}: {error}")
    _send(event["ResponseURL"], answer, seconds_left)
    return answer


def _run(
    event: Mapping[str, Any],
    seconds_left: Callable[[], float],
    action: Callable[[], Mapping[str, Any]],
    margin_seconds: float,
) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["data"] = action()
        except BaseException as error:  # reported to CloudFormation by the waiting thread
            logger.exception("custom resource action failed")
            outcome["error"] = error

    worker = threading.Thread(target=work, name="custom-resource-action", daemon=True)
    worker.start()
    worker.join(max(0.0, seconds_left() - margin_seconds))
    if worker.is_alive():
        logger.error("custom resource action still running near the function's timeout")
        return _answer(
            event,
            "FAILED",
            reason="did not finish before the function's timeout; the function's log says how far it got",
        )
    if "error" in outcome:
        error = outcome["error"]
        return _answer(event, "FAILED", reason=f"{type(error).__name__}: {error}")
    return _answer(event, "SUCCESS", data={key: str(value) for key, value in outcome["data"].items()})


def _answer(
    event: Mapping[str, Any], status: str, *, reason: str | None = None, data: Mapping[str, str] | None = None
) -> dict[str, Any]:
    # The same physical id in every answer: a different one on Update would read as a replacement.
    physical_id = event.get("PhysicalResourceId") or f"{event.get('LogicalResourceId')}-{event.get('RequestId')}"
    answer = {
        "Status": status,
        "PhysicalResourceId": physical_id[:1024],
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "Data": dict(data or {}),
    }
    if reason is not None:
        answer["Reason"] = reason[:MAX_REASON_CHARS]
    return answer


def _send(url: str, answer: Mapping[str, Any], seconds_left: Callable[[], float]) -> None:
    """PUT the answer to the pre-signed URL, retrying briefly; no Content-Type (the URL is signed without one)."""
    body = json.dumps(answer).encode()
    for attempt in range(1, SEND_ATTEMPTS + 1):
        request = urllib.request.Request(
            url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
        )
        timeout = max(1.0, min(SEND_TIMEOUT_SECONDS, seconds_left() - 1.0))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                logger.info(
                    "answered CloudFormation", extra={"status": answer["Status"], "http_status": response.status}
                )
                return
        except OSError:
            logger.warning("answering CloudFormation failed", extra={"attempt": attempt}, exc_info=True)
            if attempt < SEND_ATTEMPTS and seconds_left() > 2.0:
                time.sleep(min(attempt, 2))
    logger.error("CloudFormation was not answered; the stack waits for the resource's ServiceTimeout")
