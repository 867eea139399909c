"""Keep a copy of the directory in a JSON file, fetching only what changed since the last run (README, Caching).

    python examples/sync_people.py http://127.0.0.1:3000 people-copy.json [--token TOKEN]

The file holds `since` (the feed's `next_since` of the last run) and `people` by id. Each run applies every
page of GET /people/changes in order, `put` storing a person and `erase` dropping an id, then saves the file
with the new `since`, so a run that fails midway leaves the last good copy. A 410 (the copy is older than the
feed keeps erasures) empties the copy and syncs from the beginning. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

PAGE_SIZE = 1000


def sync(api: str, copy_file: Path, token: str | None = None) -> dict[str, int]:
    """Bring the copy up to date; how many people it holds, and how many items this run applied."""
    copy = json.loads(copy_file.read_text()) if copy_file.exists() else {"since": None, "people": {}}
    try:
        applied = _apply_changes(api, copy, token)
    except urllib.error.HTTPError as error:
        if error.code != 410:
            raise
        print(f"starting over: {json.loads(error.read())['message']}", file=sys.stderr)
        copy = {"since": None, "people": {}}
        applied = _apply_changes(api, copy, token)
    temporary = copy_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(copy, ensure_ascii=False, sort_keys=True))
    os.replace(temporary, copy_file)  # the new copy whole, or the old one
    return {"people": len(copy["people"]), "applied": applied}


def _apply_changes(api: str, copy: dict, token: str | None) -> int:
    applied, cursor = 0, None
    while True:
        query = {"limit": PAGE_SIZE} | (
            {"cursor": cursor} if cursor else {"since": copy["since"]} if copy["since"] else {}
        )
        page = _get(f"{api}/people/changes?{urllib.parse.urlencode(query)}", token)
        for item in page["changes"]:
            if item["op"] == "put":
                copy["people"][str(item["person"]["id"])] = item["person"]
            else:
                copy["people"].pop(str(item["id"]), None)
        applied += len(page["changes"])
        cursor = page["next_cursor"]
        if cursor is None:
            copy["since"] = page["next_since"]
            return applied


def _get(url: str, token: str | None) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description="Keep a JSON copy of the People API's directory up to date.")
    parser.add_argument("api", help="the API's base URL, e.g. http://127.0.0.1:3000 or https://…/v1")
    parser.add_argument("copy", type=Path, help="the JSON file that holds the copy (created on the first run)")
    parser.add_argument("--token", help="a bearer token, where the people reads need one")
    args = parser.parse_args()
    print(json.dumps(sync(args.api.rstrip("/"), args.copy, args.token)))


if __name__ == "__main__":
    main()
