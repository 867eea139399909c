"""Database settings from the environment, or from an RDS-style secret in Secrets Manager (moto)."""

import importlib.util
import json

import boto3
import pymysql
import pytest
from moto import mock_aws

from conftest import ROOT
from people_api import db
from people_api.config import SettingsInvalid, cursor_key, database_settings, read_settings


@pytest.fixture(autouse=True)
def no_cached_secrets():
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    yield
    parameters.clear_caches()


def test_defaults_are_the_local_server():
    settings = database_settings({})
    assert (settings.host, settings.port, settings.user, settings.password, settings.database) == (
        "127.0.0.1",
        3306,
        "root",
        "",
        "people",
    )


@mock_aws
def test_an_rds_secret_supplies_credentials_and_the_environment_the_rest(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    secret = boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
        Name="rds!db-123",
        SecretString=json.dumps(
            {"username": "people_app", "password": "s3cr3t", "engine": "mysql", "host": "db.internal", "port": 3306}
        ),
    )
    settings = database_settings({"DB_SECRET_ARN": secret["ARN"], "DB_NAME": "people", "DB_HOST": "proxy.internal"})
    assert (settings.user, settings.password, settings.host, settings.database) == (
        "people_app",
        "s3cr3t",
        "proxy.internal",
        "people",
    )


def test_load_data_local_is_only_for_the_import_function(database, monkeypatch):
    # The API functions' environment has no DB_LOCAL_INFILE (template.yaml gives it to ImportCsvFunction):
    # their connections refuse to send local files, which a rogue server could otherwise ask for.
    monkeypatch.delenv("DB_LOCAL_INFILE", raising=False)
    assert not database_settings().local_infile
    with db.connect(database_settings()) as conn, conn.cursor() as cur, pytest.raises(pymysql.OperationalError):
        cur.execute("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE people (first_name)")

    monkeypatch.setenv("DB_LOCAL_INFILE", "true")
    assert database_settings().local_infile


def test_empty_variables_count_as_unset():
    settings = database_settings({"DB_PORT": "", "DB_CONNECT_TIMEOUT": "", "DB_LOCAL_INFILE": ""})
    assert (settings.port, settings.connect_timeout, settings.local_infile) == (3306, 3, False)
    assert read_settings({"MAX_IMPORT_BYTES": "", "IMPORT_LOAD_METHOD": ""}).import_load_method == "auto"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("IMPORT_LOAD_METHOD", "lod_data"),
        ("DB_PORT", "33o6"),
        ("DB_READ_TIMEOUT", "0"),
        ("MAX_IMPORT_BYTES", "1e9"),
        ("MIRROR_MAX_ERASE_PERCENT", "101"),
        ("MIRROR_MAX_ERASE_PERCENT", "-1"),
        ("MIRROR_MAX_ERASE_PERCENT", "2.5"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable, value):
    with pytest.raises(SettingsInvalid, match=f"^invalid environment: {variable}: "):
        read_settings({variable: value})


@pytest.mark.parametrize("function", ["import_csv", "get_person"])
def test_a_function_with_a_bad_variable_fails_at_cold_start(function, monkeypatch):
    # Given a typo in a setting, when Lambda loads the function (its cold start, before any event):
    monkeypatch.setenv("IMPORT_LOAD_METHOD", "LOAD DATA")
    spec = importlib.util.spec_from_file_location(f"cold_{function}", ROOT / "functions" / function / "app.py")
    # Then loading fails, naming the variable, instead of every import failing later.
    with pytest.raises(SettingsInvalid, match="IMPORT_LOAD_METHOD"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_the_logger_has_the_service_name_the_tests_set_before_it_existed():
    from people_api.observability import logger

    assert logger.service == "people-api"


def test_db_tls_never_falls_back_to_plain_tcp(database, monkeypatch):
    # The local server offers no TLS: a connection that must use it (the API's, to RDS Proxy) fails
    # instead of quietly sending the password without it.
    monkeypatch.setenv("DB_TLS", "true")
    settings = database_settings()
    with pytest.raises(pymysql.OperationalError) as refused:
        db.connect(settings)
    assert refused.value.args[0] == 2026  # CR_SSL_CONNECTION_ERROR


def test_every_bad_value_is_named_at_once_and_a_secret_never_quoted():
    with pytest.raises(SettingsInvalid) as refused:
        read_settings({"CURSOR_KEY": "short-secret", "DB_TLS": "maybe", "READ_CACHE_SECONDS": "-1"})
    message = str(refused.value)
    assert "CURSOR_KEY: must be at least 32 characters" in message
    assert "DB_TLS: must be true or false" in message and "READ_CACHE_SECONDS: " in message
    assert "short-secret" not in message


def test_the_cursor_key_is_checked_where_cursors_are_signed():
    key = "a-key-of-thirty-two-characters-0"
    assert cursor_key({"CURSOR_KEY": key}) == key.encode()
    with pytest.raises(SettingsInvalid) as short:
        cursor_key({"CURSOR_KEY": "short-secret"})
    assert str(short.value) == "invalid environment: CURSOR_KEY: must be at least 32 characters, not 12"
    with pytest.raises(SettingsInvalid, match="CURSOR_KEY or CURSOR_KEY_SECRET_ARN must be set"):
        cursor_key({"CURSOR_KEY": ""})


def test_settings_are_checked_once_per_set_of_values():
    environment = {"DB_PORT": "3307"}
    assert read_settings(environment) is read_settings(dict(environment))
    assert read_settings({"DB_PORT": "3308"}).db_port == 3308
