"""How a file's rows meet the people already stored: its import mode, from its key's prefix or its metadata.

A prefix works with any S3 client, the console's drag-and-drop into a folder included: `upsert/people.csv`,
`mirror/people.csv`, `dry-run/upsert/people.csv`. The object's metadata `x-amz-meta-import-mode` (`upsert`,
`dry-run mirror`...) says the same and wins over the key. No prefix and no metadata: `add`, as before modes.
"""

from __future__ import annotations

from dataclasses import dataclass

from people_api.imports.outcome import FileRejected

ADD, UPSERT, MIRROR = "add", "upsert", "mirror"
MIRROR_ALL = "mirror-all"  # a mirror allowed to erase more than MIRROR_MAX_ERASE_PERCENT of the people
DRY_RUN = "dry-run"
MODES = (ADD, UPSERT, MIRROR, MIRROR_ALL)
METADATA_KEY = "import-mode"  # S3 gives user metadata without its x-amz-meta- prefix


@dataclass(frozen=True)
class ImportMode:
    """What the import does with the file's rows: `name` add, upsert or mirror; `dry_run` writes no person;
    `erase_guard` False only for mirror-all, the explicit opt-in to erase more than the guard's share."""

    name: str = ADD
    dry_run: bool = False
    erase_guard: bool = True

    @property
    def recorded(self) -> str:
        """The mode as the record and the report give it: add, upsert, mirror or mirror-all."""
        return MIRROR_ALL if self.name == MIRROR and not self.erase_guard else self.name

    @property
    def label(self) -> str:
        """As the metadata would say it: `dry-run mirror-all`, `upsert`."""
        return f"{DRY_RUN} {self.recorded}" if self.dry_run else self.recorded


def mode_of(key: str, metadata: dict[str, str] | None) -> ImportMode:
    """The mode the object's metadata names, else its key's prefix; FileRejected for a mode there is not."""
    value = (metadata or {}).get(METADATA_KEY)
    if value is not None:
        return _parse(value.strip().lower().split(), f"the object's metadata {METADATA_KEY}")
    folders = key.split("/")[:-1]
    words = folders[:2] if folders[:1] == [DRY_RUN] else folders[:1]
    if words and words[-1] not in (*MODES, DRY_RUN):
        words = words[:-1]  # an ordinary folder (`dry-run/team-a/x.csv`, `team-a/x.csv`): no mode after it
    return _parse(words, "the key")


def _parse(words: list[str], source: str) -> ImportMode:
    dry_run = words[:1] == [DRY_RUN]
    names = words[1:] if dry_run else words
    if len(names) > 1 or (names and names[0] not in MODES):
        shown = " ".join(words)[:40]
        raise FileRejected(
            f"{source} names the import mode {shown!r}; the modes are {', '.join(MODES)},"
            f" each optionally after {DRY_RUN}; nothing was imported"
        )
    name = names[0] if names else ADD
    if name == MIRROR_ALL:
        return ImportMode(MIRROR, dry_run, erase_guard=False)
    return ImportMode(name, dry_run)
