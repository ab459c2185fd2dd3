"""Line numbers of key paths in TOML text (for "file:line:" in validation errors)."""

from __future__ import annotations

from kilnctl.recipes.toml_lines import key_lines, line_of

TEXT = """\
kind = "plating"          # 1
name = "p"                # 2
[[steps]]                 # 3
name = "a"                # 4
end = { time = 3 }        # 5
[[steps]]                 # 6
name = "b"                # 7
[steps.end]               # 8
thickness = "5 um"        # 9
[lot]                     # 10
"area.per" = 3            # 11
x.y = 1                   # 12
"""


def test_arrays_of_tables_are_numbered() -> None:
    index = key_lines(TEXT)
    assert index[("kind",)] == 1
    assert index[("steps", 0)] == 3
    assert index[("steps", 0, "name")] == 4
    assert index[("steps", 1, "name")] == 7
    assert index[("steps", 1, "end")] == 8
    assert index[("steps", 1, "end", "thickness")] == 9
    assert index[("lot", "area.per")] == 11
    assert index[("lot", "x", "y")] == 12


def test_longest_prefix_wins() -> None:
    index = key_lines(TEXT)
    assert line_of(index, ("steps", 0, "end", "time")) == 5  # inside an inline table
    assert line_of(index, ("steps", 1, "tank")) == 6  # missing key: its table's header
    assert line_of(index, ("max_temp",)) is None  # missing at top level: no line
