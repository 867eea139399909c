"""template.yaml keeps personal data no longer than its parameters say, and sets the read cache time."""

from pathlib import Path

import pytest
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from devstack.functions import template_functions

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SAM CLI's template validation


def stack(**parameters: str):
    stacks, _ = SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"), parameter_overrides=parameters)
    return stacks


def lifecycle_rules(**parameters: str) -> dict[str, dict]:
    bucket = stack(**parameters)[0].resources["ImportBucket"]["Properties"]
    return {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}


def test_uploads_their_old_versions_and_reports_expire_after_30_days_by_default():
    rules = lifecycle_rules()
    expire = rules["ExpireImportsAndReports"]
    # No Prefix or Filter: the rule covers the whole bucket, uploads and reports/ alike.
    assert "Prefix" not in expire and "Filter" not in expire
    assert expire["Status"] == "Enabled"
    assert expire["ExpirationInDays"] == 30
    assert expire["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert expire["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    # What expiry leaves behind in a versioned bucket: delete markers, then removed too.
    assert rules["RemoveExpiredObjectDeleteMarkers"]["ExpiredObjectDeleteMarker"] is True


def test_the_retention_is_a_stack_parameter():
    expire = lifecycle_rules(ImportRetentionDays="7")["ExpireImportsAndReports"]
    assert int(expire["ExpirationInDays"]) == 7
    assert int(expire["NoncurrentVersionExpiration"]["NoncurrentDays"]) == 7


def test_every_function_gets_the_read_cache_seconds_parameter():
    for parameters, seconds in (({}, "3"), ({"ReadCacheSeconds": "30"}, "30")):
        functions = template_functions(stack(**parameters), ROOT)
        assert {f.environment["READ_CACHE_SECONDS"] for f in functions.values()} == {seconds}


def test_import_records_are_purged_daily_after_the_same_retention_as_the_bucket():
    for parameters, days in (({}, "30"), ({"ImportRetentionDays": "7"}, "7")):
        functions = template_functions(stack(**parameters), ROOT)
        [purge] = [f for f in functions.values() if f.environment.get("IMPORT_RETENTION_DAYS")]
        assert purge.code_dir == ROOT / "functions" / "purge_imports"
        assert purge.environment["IMPORT_RETENTION_DAYS"] == days
        assert int(lifecycle_rules(**parameters)["ExpireImportsAndReports"]["ExpirationInDays"]) == int(days)
        [schedule] = purge.events.values()
        # An EventBridge rule once a day (cron: minutes hours day-of-month month day-of-week year)
        assert schedule["Type"] == "Schedule"
        minutes, hours, day_of_month, month, day_of_week, year = schedule["Properties"]["Schedule"][5:-1].split()
        assert (day_of_month, month, day_of_week, year) == ("*", "*", "?", "*")
        assert minutes.isdigit() and hours.isdigit()


def test_the_change_feeds_tombstones_are_purged_daily_after_their_own_retention():
    for parameters, days in (({}, "30"), ({"ChangeRetentionDays": "7"}, "7")):
        functions = template_functions(stack(**parameters), ROOT)
        keeping = {f.code_dir.name: f for f in functions.values() if f.environment.get("CHANGE_RETENTION_DAYS")}
        # The purge, and the feed that names the retention in its 410
        assert set(keeping) == {"purge_changes", "people_changes"}
        assert {f.environment["CHANGE_RETENTION_DAYS"] for f in keeping.values()} == {days}
        [schedule] = keeping["purge_changes"].events.values()
        assert schedule["Type"] == "Schedule"
        minutes, hours, day_of_month, month, day_of_week, year = schedule["Properties"]["Schedule"][5:-1].split()
        assert (day_of_month, month, day_of_week, year) == ("*", "*", "?", "*")


def test_export_files_and_records_go_after_the_export_retention_and_the_url_after_its_seconds():
    shorter = {"ExportRetentionDays": "2", "ExportUrlSeconds": "60"}
    for parameters, days, seconds in (({}, "7", "900"), (shorter, "2", "60")):
        resources = stack(**parameters)[0].resources
        rules = {r["Id"]: r for r in resources["ExportBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
        # The whole bucket (every file is an export), incomplete uploads a day after they began
        assert "Prefix" not in rules["ExpireExports"] and "Filter" not in rules["ExpireExports"]
        assert int(rules["ExpireExports"]["ExpirationInDays"]) == int(days)
        assert rules["ExpireExports"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
        assert rules["RemoveExpiredObjectDeleteMarkers"]["ExpiredObjectDeleteMarker"] is True
        functions = {f.code_dir.name: f for f in template_functions(stack(**parameters), ROOT).values()}
        assert functions["purge_exports"].environment["EXPORT_RETENTION_DAYS"] == days
        [schedule] = functions["purge_exports"].events.values()
        assert schedule["Type"] == "Schedule" and schedule["Properties"]["Schedule"].startswith("cron(")
        assert functions["get_export"].environment["EXPORT_URL_SECONDS"] == seconds
