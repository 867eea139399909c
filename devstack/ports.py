"""TCP ports for the stack's listeners, chosen so that nothing else takes them before the listener binds.

A port asked of the kernel (`bind` to port 0) is free when asked, but it comes from the ephemeral range,
where every outgoing connection also draws its local port: between the question and the listener's own
`bind` (an emulator's start, a second or more on a busy machine), one of the hundreds of connections a
concurrent test opens can take it, and the listener fails (the emulator panics: "address already in use").
So ports come from below the ephemeral range, which outgoing connections never use, and a port is handed
out once per process until it is given back.
"""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

# Linux names its ephemeral range here; elsewhere (macOS, BSD) it starts at IANA's 49152.
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LISTENER_PORTS = 12_000  # how many ports below the ephemeral range are the stack's to choose from

_lock = threading.Lock()
_handed_out: set[int] = set()


def _listener_range() -> range:
    try:
        first_ephemeral = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 49152
    return range(max(1024, first_ephemeral - _LISTENER_PORTS), first_ephemeral)


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on, outside the ephemeral range, not handed out before
    by this process (until `give_back`)."""
    ports = _listener_range()
    start = random.randrange(len(ports))  # two processes asking at once seldom try the same ports
    with _lock:
        for offset in range(len(ports)):
            port = ports[(start + offset) % len(ports)]
            if port not in _handed_out and _bindable(host, port):
                _handed_out.add(port)
                return port
    raise OSError(f"no free port in {ports.start}-{ports.stop - 1} on {host}")


def give_back(port: int) -> None:
    """The listener on `port` is gone: the port may be handed out again."""
    with _lock:
        _handed_out.discard(port)
