"""The import's peak memory on the worst files its limits have to stop, each import in a process of its own.

As in Lambda, the import runs alone in its process: the real handler, reading the object over HTTP from
a moto S3 server that this test process runs (so the object's bytes are not counted in the import's
memory), into the test's database. The peak is the process's high-water mark of resident memory
(VmHWM), what Lambda reports as "Max Memory Used"; it is compared with the same import's peak on
people.csv, measured the same way in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
PEOPLE_CSV = ROOT / "people.csv"

BUCKET = "people-import"
MAX_EXTRA_MB = 10  # README, Limits: the worst files peak within this of people.csv's import
ADDRESS_SPACE_BYTES = 4 << 30  # a runaway import fails here instead of taking the machine's memory
CHILD_TIMEOUT_SECONDS = 300

WORST_FILES = {  # name: (the file, how its import ends)
    "a header of 1M columns": (lambda: b"id," * 999_999 + b"id\r\n1\r\n", "rejected"),
    "a 200 MB line": (lambda: b"First,Last\r\n" + b"ab," * 66_666_667 + b"\r\n", "rejected"),
    "a quote, then 10M line breaks": (lambda: b'First\r\nAda\r\n"' + b"\r\n" * 10_000_000, "rejected"),
    "1M blank lines each side of a row": (
        lambda: b"First\r\n" + b"\r\n" * 1_000_000 + b"Ada\r\n" + b"\n" * 1_000_000,
        "succeeded",
    ),
    "only line breaks": (lambda: b"\r\n" * 5_000_000, "rejected"),
}


@pytest.fixture(scope="module")
def s3_server():
    """A moto S3 server in this process, with the import bucket: (endpoint, client)."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as env:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            env.setenv(name, value)
        env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        try:
            yield endpoint, s3
        finally:
            server.stop()


def import_alone(s3_server, key: str, data: bytes) -> dict:
    """Upload `data` and import it in a process of its own: its report, and its peak memory in MB."""
    endpoint, s3 = s3_server
    etag = s3.put_object(Bucket=BUCKET, Key=key, Body=data)["ETag"].strip('"')
    env = os.environ | {
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers'}",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "DB_LOCAL_INFILE": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    child = subprocess.run(
        [sys.executable, __file__, key, etag, str(len(data))],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    return json.loads(child.stdout.splitlines()[-1])


def test_the_worst_files_peak_within_a_few_mb_of_a_small_files_import(empty_db, s3_server):
    baseline = import_alone(s3_server, "people.csv", PEOPLE_CSV.read_bytes())
    assert baseline["report"]["status"] == "succeeded"

    peaks = {}
    for number, (name, (make, status)) in enumerate(WORST_FILES.items()):
        outcome = import_alone(s3_server, f"worst-{number}.csv", make())
        peaks[name] = outcome["peak_mb"]
        assert outcome["report"]["status"] == status, (name, outcome["report"])

    print(f"peak memory (VmHWM) of the import's process; people.csv: {baseline['peak_mb']:.1f} MB")
    for name, peak in peaks.items():
        print(f"  {name:36} {peak:6.1f} MB  {peak - baseline['peak_mb']:+5.1f} MB")
    over = {name: round(peak - baseline["peak_mb"], 1) for name, peak in peaks.items()}
    assert all(extra <= MAX_EXTRA_MB for extra in over.values()), (baseline["peak_mb"], over)


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM, which unlike ru_maxrss leaves out the parent before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (memory is measured on Linux)")


class _Context:
    """The fields of Lambda's context that the handler and Powertools read."""

    function_name = "ImportCsvFunction"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:ImportCsvFunction"
    aws_request_id = "import-memory-test"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _import_one_object(key: str, etag: str, size: int) -> None:
    """The child: the real handler, invoked once for the object, warm (clients made first); prints the outcome."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))

    from functions.import_csv.app import lambda_handler
    from people_api import db
    from people_api.imports import s3_import

    event = json.loads((ROOT / "events" / "import_csv.json").read_text())
    event["Records"][0]["s3"]["object"].update(key=key, size=size, eTag=etag)
    del event["Records"][0]["s3"]["object"]["versionId"]
    s3_import.s3_client(), db.connection()
    (report,) = lambda_handler(event, _Context())["reports"]
    print(json.dumps({"report": report, "peak_mb": _peak_rss_mb()}))


if __name__ == "__main__":
    _import_one_object(sys.argv[1], sys.argv[2], int(sys.argv[3]))
