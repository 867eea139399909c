"""What an import of one file comes to: rejected whole (`FileRejected`), or its rows' tally and counts.

Apart from the reader and the loader, which both add to it, so that a new mode changes neither's types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_ROW_ERRORS = 100
MAX_CHANGES_LISTED = 100


class FileRejected(Exception):
    """The file as a whole cannot be imported (not UTF-8 text, bad header, no rows...); final, not retried."""


@dataclass
class Tally:
    """What reading the file found: bytes and rows read, rows rejected by the rules, and the first row errors.

    Updated as the file is read (by the import's feeder thread), so that its progress can be reported;
    `columns` are the fields the header names, once it is read.
    """

    bytes_read: int = 0
    rows_read: int = 0
    rows_rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    columns: tuple[str, ...] = ()

    def reject_all(self, count: int, first_lines: list[int], field_name: str, message: str) -> None:
        """`count` more rows rejected for one rule, found after the reading (the first of them at `first_lines`);
        the errors stay in line order."""
        self.rows_rejected += count
        self.errors += [{"line": line, "field": field_name, "message": message} for line in first_lines]
        self.errors.sort(key=lambda error: error["line"])
        del self.errors[MAX_ROW_ERRORS:]

    def reject(self, line: int, problems: list[tuple[str, str]]) -> None:
        self.rows_rejected += 1
        for field_name, message in problems:
            if len(self.errors) < MAX_ROW_ERRORS:
                self.errors.append({"line": line, "field": field_name, "message": message})
