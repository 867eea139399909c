"""The terminal: each function's output prefixed with its name, devstack's own lines with `devstack`.

Lambda gives every function its own log stream; here all of them share one terminal. Each
execution environment's output is read by a thread of devstack's that writes it under the
function's name (devstack/functions.py); sys.stdout and sys.stderr are replaced by streams that
remember whose lines the current thread writes and put that name before each line.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.file_proxy import FileProxy

_running = threading.local()
_write_lock = threading.Lock()
_prefix_width = len("devstack")


class PrefixedStream:
    """A text stream writing whole lines to `target`, each after the name of the thread's function."""

    def __init__(self, target: TextIO):
        self.target = target
        self._partial = threading.local()

    def write(self, text: str) -> int:
        pending = getattr(self._partial, "text", "") + text
        *lines, self._partial.text = pending.split("\n")
        if lines:
            name = getattr(_running, "name", None)
            prefix = prefix_of(name) if name else ""
            with _write_lock:
                self.target.write("".join(f"{prefix}{line}\n" for line in lines))
                self.target.flush()
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    @property
    def encoding(self) -> str:
        return self.target.encoding

    def fileno(self) -> int:
        return self.target.fileno()


def install() -> None:
    """Route this process's stdout and stderr through PrefixedStream, and logging to stderr.

    Before anything loads the layer: Powertools' logger keeps the sys.stdout it finds when it is
    created, and keeps its records from reaching the root logger's handlers that exist by then.
    """
    if not isinstance(sys.stdout, PrefixedStream):
        sys.stdout = PrefixedStream(sys.stdout)
        sys.stderr = PrefixedStream(sys.stderr)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # access lines: the API's own, none for moto's polls


def prefix_of(name: str) -> str:
    """What starts each line of this function (or part of devstack)."""
    return f"{name:<{_prefix_width}} | "


def terminal() -> TextIO:
    """Where the lines end up: the stdout devstack found, under its PrefixedStream."""
    return sys.stdout.target if isinstance(sys.stdout, PrefixedStream) else sys.stdout


@contextmanager
def above(console: Console) -> Iterator[None]:
    """While a rich live display runs on `console`, every other line is printed above it, not through it."""
    streams = [stream for stream in (sys.stdout, sys.stderr) if isinstance(stream, PrefixedStream)]
    targets = [stream.target for stream in streams]
    for stream in streams:
        stream.target = FileProxy(console, stream.target)
    try:
        yield
    finally:
        for stream, target in zip(streams, targets, strict=True):
            stream.target = target


def align(names: list[str]) -> None:
    """Prefixes as wide as the longest of these names."""
    global _prefix_width
    _prefix_width = max([_prefix_width, *map(len, names)])


@contextmanager
def running(function_name: str) -> Iterator[None]:
    """Lines this thread writes inside the block are the function's."""
    outer = getattr(_running, "name", None)
    _running.name = function_name
    try:
        yield
    finally:
        _running.name = outer


def say(message: str, source: str = "devstack") -> None:
    """A line of devstack's own (or of one of its parts: api, s3)."""
    with running(source):
        print(message, flush=True)
