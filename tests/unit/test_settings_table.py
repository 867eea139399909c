"""The settings' table (people_api/config.py): each parser reads a setting that exists, and no secret is shown."""

from people_api.config import PARSERS, AppUser, Settings, database_settings, read_settings


def test_every_parser_reads_a_setting():
    # A parser filed under a misspelt name would leave its setting read as plain text, unchecked.
    assert set(PARSERS) <= set(Settings._fields)


def test_no_secret_shows_in_the_settings_repr():
    settings = read_settings({"DB_PASSWORD": "pw-s3cret", "CURSOR_KEY": "k3y" * 11, "DB_USER": "people_app"})
    shown = repr(settings)
    assert "pw-s3cret" not in shown and "k3y" not in shown and "db_user='people_app'" in shown


def test_no_password_shows_in_the_database_settings_or_app_user_repr():
    settings = database_settings({"DB_PASSWORD": "pw-s3cret", "DB_USER": "people_app"})
    user = AppUser("people_app", "pw-s3cret")
    assert "pw-s3cret" not in repr(settings) + repr(user)
    assert "user='people_app'" in repr(settings) and "people_app" in repr(user)
