"""A generator run in a thread of its own, so that its items are made while the caller uses the ones before.

The CSV import uses it to read, check and format rows while the database stores the previous
statement's. Whatever the generator consumes (the file, the row tally) is touched from that thread.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
_QUEUE_ITEMS = 2
_QUICK_SWITCH_SECONDS = 0.0005
_switch_lock = threading.Lock()
_feeds_running = 0
_usual_switch_interval = sys.getswitchinterval()


@contextmanager
def feeding(items: Generator[T, None, None], discard: Callable[[T], None] = lambda _: None) -> Iterator[Iterator[T]]:
    """`items`, produced by a feeder thread while the caller handles the ones before; stops the feeder on error.

    The feeder's own error (a bad file, the deadline...) is raised by the iterator, after the items it made.
    """
    feeder = _Feeder(items, discard)
    with _quick_thread_switches():
        feeder.start()
        try:
            yield feeder.items()
        finally:
            feeder.stop()


@contextmanager
def _quick_thread_switches() -> Iterator[None]:
    """Hand the GIL over every 0.5 ms instead of 5 while feeding (the process's setting, restored after).

    The feeder thread is always busy; at the default interval the consuming thread waits up
    to 5 ms each time it needs the GIL to pass a packet on, and the server waits with it:
    measured, the import runs about twice as fast this way (docs/import.md).
    """
    global _feeds_running, _usual_switch_interval
    with _switch_lock:
        if _feeds_running == 0:
            _usual_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(_QUICK_SWITCH_SECONDS)
        _feeds_running += 1
    try:
        yield
    finally:
        with _switch_lock:
            _feeds_running -= 1
            if _feeds_running == 0:
                sys.setswitchinterval(_usual_switch_interval)


class _Feeder(threading.Thread):
    """Runs a generator in a thread of its own, handing its items over through a short queue."""

    _END = object()

    def __init__(self, items: Generator[T, None, None], discard: Callable[[T], None]):
        super().__init__(name="people-import-feeder", daemon=True)
        self._source = items
        self._discard = discard
        self._queue: queue.Queue = queue.Queue(maxsize=_QUEUE_ITEMS)
        self._stopping = threading.Event()
        self._ended = False
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            for item in self._source:
                self._queue.put(item)
                if self._stopping.is_set():
                    break
        except BrokenPipeError:
            pass  # the statement reading the pipe failed; its error is the one reported
        except BaseException as error:
            self._error = error
        finally:
            self._source.close()
            self._queue.put(self._END)

    def items(self) -> Iterator[T]:
        """Each item as it comes; then the feeder's own error, if it had one."""
        while (item := self._queue.get()) is not self._END:
            yield item
        self._ended = True
        self.join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """After the last item, or a failed statement: discard what nobody will load, and wait for the thread."""
        self._stopping.set()
        while not self._ended:
            item = self._queue.get()
            if item is self._END:
                self._ended = True
            else:
                self._discard(item)
        self.join()
