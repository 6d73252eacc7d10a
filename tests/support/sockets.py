"""Which TCP sockets the kernel has on a local port (Linux ``/proc/net/tcp``)."""

from __future__ import annotations

from pathlib import Path

ESTABLISHED, LISTENING = "01", "0A"


def socket_inodes(port: int, state: str) -> set[str]:
    """Inodes of TCP sockets on local ``port`` in ``state`` (ESTABLISHED or LISTENING)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes
