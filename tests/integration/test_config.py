"""Database settings from the environment, or from an RDS-style secret in Secrets Manager (moto)."""

import json

import boto3
import pymysql
import pytest
from moto import mock_aws

from people_api import db
from people_api.config import database_settings


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
