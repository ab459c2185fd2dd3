"""One log line per change of a device's link: lost (its first failed request after an
answered one) and back (its first answered request after failures), each naming the
device and its address.

The transports report every request through DeviceHealth.succeeded / .failed; only the
changes are logged, so a device that stays silent for an hour costs two lines, not one per
poll. pymodbus's own per-request messages say the same without the device's name and are
kept out of the service's log (kilnctl.cli.logs).
"""

from __future__ import annotations

import logging

from drivers.errors import DeviceError

log = logging.getLogger("drivers.link")
# A command that sets up no logging (`kilnctl read`) prints nothing of this: its own error
# message says what failed. Without a handler Python's last-resort one would print warnings.
log.addHandler(logging.NullHandler())


def lost(error: DeviceError) -> None:
    """The device's link is lost: `error` is its first failed request."""
    log.warning("%s (%s) lost: %s: %s", error.device, error.address, error.kind, error.detail)


def back(device: str, address: str, failed_requests: int) -> None:
    """The device answers again after `failed_requests` failed requests in a row."""
    log.info("%s (%s) back after %d failed requests", device, address, failed_requests)
