"""How the main screen's body is shared between the plant table, the run panels and the
chart (in terminal rows), so every configured kiln and tank keeps its line at 80x24.

The body is the screen less the header, the status bar and the footer. The plant table
takes a line per kiln/tank first; the chart keeps LOWER_MIN_ROWS and the run panels at
least RUNS_MIN_ROWS (one run's border and a line; they scroll). A plant with more
kilns/tanks than that leaves room for shows what fits and a "+N more" line naming the
rest: no device is ever dropped without a word.
"""

from __future__ import annotations

CHROME_ROWS = 3
"""Header, status bar and footer: one row each."""
LOWER_MIN_ROWS = 8
"""The chart and the alarm list (tcss #lower min-height)."""
RUNS_MIN_ROWS = 3
"""One run panel's border and a line (the panels scroll below this)."""


def plant_rows_max(screen_rows: int) -> int:
    """Lines the plant table may take on a screen this tall (at least 1); 10 at 24 rows."""
    return max(1, screen_rows - CHROME_ROWS - LOWER_MIN_ROWS - RUNS_MIN_ROWS)


def runs_rows_max(screen_rows: int, plant_lines: int) -> int:
    """Rows the run panels may take once the plant table has `plant_lines` (at least
    RUNS_MIN_ROWS): the rest of the body less the chart's minimum."""
    body = screen_rows - CHROME_ROWS
    return max(RUNS_MIN_ROWS, body - plant_lines - LOWER_MIN_ROWS)


def fit_lines(lines: list[str], names: list[str], max_lines: int) -> tuple[list[str], str]:
    """The lines that fit in `max_lines`, and "" or the "+N more: name, ..." line that
    takes the last place when they do not all fit (`names`: each line's kiln/tank, in
    the same order)."""
    if len(lines) <= max_lines:
        return lines, ""
    keep = max(0, max_lines - 1)
    rest = names[keep:]
    return lines[:keep], f"+{len(rest)} more: {', '.join(rest)}"
