"""The least-privileged account the migrations create for the API and the import (in AWS, from a secret)."""

from __future__ import annotations

import json
import uuid

import boto3
import pymysql
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from conftest import invoke
from people_api import db
from people_api.config import AppUser
from people_api.migrations import ensure_app_user

ACCESS_DENIED = {1142, 1044, 1045}


@pytest.fixture
def app_user(database):
    user = AppUser(username=f"app_{uuid.uuid4().hex[:10]}", password=f"pw-{uuid.uuid4().hex}")
    yield user
    with db.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@%s", (user.username, "%"))


def connect_as(settings, user: AppUser) -> pymysql.Connection:
    return db.connect(settings, user=user.username, password=user.password)


def test_the_app_user_reads_and_writes_rows_but_cannot_change_the_schema(database, app_user, empty_db):
    # Given the owner has run the step that creates the app user
    ensure_app_user(db.connection(), database.database, app_user)

    # When the API connects as that user
    conn = connect_as(database, app_user)
    try:
        with conn.cursor() as cur:
            # Then rows can be written, read, changed and deleted
            cur.execute("INSERT INTO people (first_name, last_name, change_id) VALUES ('Ada', 'Lovelace', 1)")
            cur.execute("UPDATE people SET age = 36 WHERE last_name = 'Lovelace'")
            cur.execute("SELECT age FROM people WHERE last_name = 'Lovelace'")
            assert cur.fetchone() == (36,)
            cur.execute("DELETE FROM people WHERE last_name = 'Lovelace'")
            # And an upsert's staging table, the session's temporary one, can be made, filled and dropped
            cur.execute("CREATE TEMPORARY TABLE import_rows (line BIGINT PRIMARY KEY, id BIGINT)")
            cur.execute("INSERT INTO import_rows VALUES (2, 5)")
            cur.execute("UPDATE import_rows SET id = 6")
            cur.execute("DROP TEMPORARY TABLE import_rows")
            # And the schema cannot be touched
            for statement in (
                "CREATE TABLE intruder (id INT)",
                "ALTER TABLE people ADD COLUMN extra INT",
                "DROP TABLE imports",
                "TRUNCATE TABLE people",
                "GRANT ALL ON *.* TO CURRENT_USER",
            ):
                with pytest.raises(pymysql.err.OperationalError) as refused:
                    cur.execute(statement)
                assert refused.value.args[0] in ACCESS_DENIED, statement
    finally:
        conn.close()


def test_the_app_user_sees_no_other_database(database, app_user):
    ensure_app_user(db.connection(), database.database, app_user)

    with pytest.raises(pymysql.err.OperationalError) as refused:
        connect_as(database, app_user).select_db("mysql")
    assert refused.value.args[0] in ACCESS_DENIED


def test_running_it_again_follows_a_new_password(database, app_user):
    # Given the app user exists, and then its secret gets a new password
    ensure_app_user(db.connection(), database.database, app_user)
    rotated = AppUser(username=app_user.username, password=f"pw-{uuid.uuid4().hex}")

    # When the next deploy runs the step again
    ensure_app_user(db.connection(), database.database, rotated)

    # Then the new password signs in and the old one no longer does
    connect_as(database, rotated).close()
    with pytest.raises(pymysql.err.OperationalError) as refused:
        connect_as(database, app_user)
    assert refused.value.args[0] == 1045


@pytest.mark.parametrize("name", ["people`; DROP DATABASE mysql; --", "a.b", "", "x" * 65])
def test_a_database_name_that_is_not_a_plain_identifier_is_refused(database, app_user, name):
    with pytest.raises(ValueError, match="plain identifier"):
        ensure_app_user(db.connection(), name, app_user)


def test_the_password_never_shows_in_its_repr():
    assert "s3cret" not in repr(AppUser(username="people_app", password="s3cret"))


@mock_aws
def test_the_migrate_function_creates_the_user_named_in_its_secret(database, app_user, monkeypatch):
    # Given the stack's app-user secret (Secrets Manager, here moto) named in APP_DB_SECRET_ARN
    parameters.clear_caches()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    secret = boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
        Name="people-api-app-user",
        SecretString=json.dumps({"username": app_user.username, "password": app_user.password}),
    )
    monkeypatch.setenv("APP_DB_SECRET_ARN", secret["ARN"])

    # When the Migrate function runs (as the owner)
    invoke("migrate", {})

    # Then the account exists and signs in
    connect_as(database, app_user).close()
    parameters.clear_caches()
