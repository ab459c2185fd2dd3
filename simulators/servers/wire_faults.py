"""What a device's WireFaults do to a reply frame on its way to the wire (shared by servers)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulators.device import WireFaults


@dataclass(frozen=True)
class Outgoing:
    """A reply as it will leave the device: the bytes, and the extra delay before them."""

    data: bytes
    delay_s: float


def apply_wire_faults(
    faults: WireFaults, reply: bytes, rng: random.Random, damage: bytes | None = None
) -> Outgoing | None:
    """The reply after the injected faults; None when the device stays silent.

    `damage` is the protocol's own "corrupt frame" version of the reply (RTU: bad CRC);
    by default the last byte is inverted, which breaks a CRC or a checksum. A one-off
    late reply (`late_once_s`) is used up by this reply.
    """
    if faults.no_response:
        return None
    if faults.garbage:
        data = rng.randbytes(max(len(reply), 1))
    elif faults.corrupt_crc:
        data = damage if damage is not None else reply[:-1] + bytes((reply[-1] ^ 0xFF,))
    else:
        data = reply
    late_s, faults.late_once_s = faults.late_once_s, 0.0
    return Outgoing(data, max(faults.extra_delay_s, 0.0) + max(late_s, 0.0))
