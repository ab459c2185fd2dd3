"""The engine as a local service: newline-delimited JSON over a Unix-domain socket.

`protocol` holds the wire messages, `server` the service that owns the engine, the
journal and the devices, `client` the asyncio client used by the TUI and the demo.
"""

from __future__ import annotations
