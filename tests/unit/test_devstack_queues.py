"""devstack's queues: the template's event source mappings read as Lambda would poll them, and the SQS event."""

import pytest
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from conftest import ROOT
from devstack.queues import QueueMapping, queue_mappings, sqs_event

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SAM CLI's template validation


def test_the_export_queue_feeds_the_export_function_one_message_at_a_time():
    stacks, _ = SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"))

    assert queue_mappings(stacks[0].resources) == [
        QueueMapping("ExportQueue", "ExportPeopleFunction", 1, "ExportFailures", 5)
    ]


def test_a_received_message_becomes_the_record_lambda_hands_the_function():
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": '{"export_id": 3}', "MD5OfBody": "x"}

    [record] = sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:ExportQueue", "us-east-1")["Records"]

    assert record["body"] == '{"export_id": 3}' and record["eventSource"] == "aws:sqs"
    assert (record["messageId"], record["receiptHandle"], record["attributes"]) == ("m-1", "r-1", {})
