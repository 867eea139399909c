"""devstack's import bucket: an object put into it reaches the template's S3-triggered function as AWS's S3 event."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from conftest import InProcessRunner
from devstack.bucket import ImportBucket, s3_trigger
from devstack.functions import template_functions
from devstack.ports import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SAM CLI's template validation


@pytest.fixture
def bucket(unused_port):
    """The bucket on its own moto server, its S3-triggered function replaced by a recorder."""
    stacks, _ = SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"))
    functions = template_functions(stacks, ROOT)
    function_name, _ = s3_trigger(functions)
    events = []
    recorder = {function_name: lambda event, context: events.append(event) or {"imported": True}}
    # A name of its own: moto keeps its buckets per process, and another test's in-process S3 may hold people-import.
    name = f"people-import-{unused_port}"
    bucket = ImportBucket(InProcessRunner(functions, recorder), "127.0.0.1", unused_port, name, "us-east-1")
    bucket.start()
    yield bucket, events
    bucket.stop()


@pytest.fixture
def unused_port():
    return free_port()


def test_the_template_names_the_import_function_for_every_key():
    stacks, _ = SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"))

    function_name, trigger = s3_trigger(template_functions(stacks, ROOT))

    # No key filter: S3's are case-sensitive (upper.CSV), and every key must leave a trace
    assert function_name == "ImportCsvFunction"
    assert "Filter" not in trigger


def test_a_csv_put_reaches_the_function_as_an_s3_event(bucket, tmp_path):
    # Given the bucket, and a CSV whose name needs URL-encoding
    import_bucket, events = bucket
    csv = tmp_path / "people.csv"
    csv.write_text("ID,First\n1,Ann\n")

    # When it is put, and a .txt and an upper-case .CSV after it
    import_bucket.put(csv, "drops/new people.csv")
    import_bucket.put(csv, "drops/notes.txt")
    import_bucket.put(csv, "drops/UPPER.CSV")

    # Then the function got the S3 event of each (it decides what to import), key URL-encoded as S3 sends it
    for key in ("drops/new people.csv", "drops/notes.txt", "drops/UPPER.CSV"):
        assert import_bucket.wait_until_handled(key, timeout=10), key
    event = events[0]
    [record] = event["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == import_bucket.bucket
    assert "+people.csv" in record["s3"]["object"]["key"]
    assert unquote_plus(record["s3"]["object"]["key"]) == "drops/new people.csv"
    assert record["s3"]["object"]["size"] == csv.stat().st_size
