"""The settings' table (people_api/config.py): each parser reads a setting that exists, and no secret is shown."""

from people_api.config import PARSERS, Settings, read_settings


def test_every_parser_reads_a_setting():
    # A parser filed under a misspelt name would leave its setting read as plain text, unchecked.
    assert set(PARSERS) <= set(Settings._fields)


def test_no_secret_shows_in_the_settings_repr():
    settings = read_settings({"DB_PASSWORD": "pw-s3cret", "CURSOR_KEY": "k3y" * 11, "DB_USER": "people_app"})
    shown = repr(settings)
    assert "pw-s3cret" not in shown and "k3y" not in shown and "db_user='people_app'" in shown
