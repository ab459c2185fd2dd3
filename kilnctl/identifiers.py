"""Identifiers that become InfluxDB tags (lot, device, kiln, tank; job and run ids are
already restricted) must come back from the server exactly as they were entered.

Line protocol escapes commas, spaces and equals signs in tag values, and InfluxDB unescapes
them, so those round-trip. What cannot (checked against influxd 1.6.7): an empty value (the
tag is dropped), control characters such as a newline or tab (they come back as the two
characters backslash-n), and a trailing backslash (it swallows the separator that follows).
Such an identifier is refused where it is entered, with this module's message.
"""

from __future__ import annotations

import unicodedata

MAX_IDENTIFIER_LEN = 100


def identifier_problem(value: str) -> str | None:
    """What makes `value` unusable as a lot/device identifier, or None when it is fine."""
    if not value.strip():
        return "must not be empty or blank"
    if len(value) > MAX_IDENTIFIER_LEN:
        return f"is {len(value)} characters long (allowed: at most {MAX_IDENTIFIER_LEN})"
    control = [c for c in value if unicodedata.category(c) == "Cc"]
    if control:
        return (
            f"contains the control character {control[0]!r} (allowed: letters, digits, "
            "spaces and punctuation; telemetry could not store it exactly)"
        )
    if value.endswith("\\"):
        return "ends with a backslash (telemetry could not store it exactly)"
    return None
