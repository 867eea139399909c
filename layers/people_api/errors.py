"""The errors every part of the layer may raise, and that the API answers (http/resolver.py's table)."""


class NotFound(LookupError):
    """Nothing has that id: no such person, no such import (404)."""


class Conflict(Exception):
    """The request cannot be carried out in the state things are in: an id taken, a write that kept losing (409)."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached now; the next call tries again with a new connection (503)."""


class Gone(Exception):
    """What was asked for is no longer kept: a change feed token older than its tombstones (410)."""


class QueueUnavailable(Exception):
    """A queue did not take a message (the export's); nothing waits on it, the next call can try again (503)."""
