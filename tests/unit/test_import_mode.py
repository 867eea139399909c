"""The import mode of an object, from its key's first folders or its metadata (imports/mode.py)."""

from __future__ import annotations

import pytest

from people_api.imports.mode import ImportMode, mode_of
from people_api.imports.outcome import FileRejected


@pytest.mark.parametrize(
    ("key", "mode"),
    [
        ("people.csv", ImportMode("add")),
        ("add/people.csv", ImportMode("add")),
        ("upsert/people.csv", ImportMode("upsert")),
        ("upsert/team-a/people.csv", ImportMode("upsert")),
        ("mirror/people.csv", ImportMode("mirror")),
        ("mirror-all/people.csv", ImportMode("mirror", erase_guard=False)),
        ("dry-run/people.csv", ImportMode("add", dry_run=True)),
        ("dry-run/upsert/people.csv", ImportMode("upsert", dry_run=True)),
        ("dry-run/mirror-all/x.csv", ImportMode("mirror", dry_run=True, erase_guard=False)),
        ("dry-run/team-a/x.csv", ImportMode("add", dry_run=True)),
        ("team-a/upsert/x.csv", ImportMode("add")),  # only the first folder (after dry-run/) names a mode
        ("Upsert/people.csv", ImportMode("add")),  # keys are case-sensitive, as S3's
        ("upsert.csv", ImportMode("add")),
        ("/upsert/people.csv", ImportMode("add")),
    ],
)
def test_the_key_s_first_folders_name_the_mode(key, mode):
    assert mode_of(key, {}) == mode


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("upsert", ImportMode("upsert")),
        ("  Dry-Run   Mirror ", ImportMode("mirror", dry_run=True)),
        ("dry-run", ImportMode("add", dry_run=True)),
        ("", ImportMode("add")),
        ("mirror-all", ImportMode("mirror", erase_guard=False)),
    ],
)
def test_the_metadata_names_the_mode_and_wins_over_the_key(value, mode):
    assert mode_of("mirror/people.csv", {"import-mode": value}) == mode


@pytest.mark.parametrize("value", ["merge", "upsert mirror", "mirror dry-run", "dry-run dry-run", "x" * 2000])
def test_a_mode_there_is_not_rejects_the_file_with_the_modes_listed(value):
    with pytest.raises(FileRejected) as rejected:
        mode_of("people.csv", {"import-mode": value})
    message = str(rejected.value)
    assert "the modes are add, upsert, mirror, mirror-all, each optionally after dry-run" in message
    assert len(message) < 200


def test_the_label_is_what_the_metadata_would_say():
    assert mode_of("dry-run/mirror-all/x.csv", None).label == "dry-run mirror-all"
    assert mode_of("upsert/x.csv", None).label == "upsert"
