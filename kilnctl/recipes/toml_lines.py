"""Find the line of a key path in TOML text, so a validation error can say "file:12:".

tomllib keeps no positions, so this re-reads the text: table headers (`[lot]`,
`[[steps]]`, `[steps.end]`) and `key = value` lines, numbering arrays of tables as TOML
does. Keys inside inline tables and arrays map to the line of their enclosing key.
"""

from __future__ import annotations

import re
import tomllib

Loc = tuple[str | int, ...]

_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER_RE = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEY_LINE_RE = re.compile(rf"^\s*({_DOTTED})\s*=")
_KEY_PART_RE = re.compile(_KEY)


def _split(dotted: str) -> tuple[str, ...]:
    return tuple(_unquote(part) for part in _KEY_PART_RE.findall(dotted))


def _unquote(part: str) -> str:
    if part.startswith('"'):
        # A basic-string key may hold escapes (`"kiln\t1"`): decode them as TOML does, so
        # the path matches the key the parser produced.
        try:
            return str(tomllib.loads(f"k = {part}")["k"])
        except tomllib.TOMLDecodeError:
            pass
    return part.strip("\"'")


def key_lines(text: str) -> dict[Loc, int]:
    """Map each table and key path (with array-of-tables indices) to its first line."""
    index: dict[Loc, int] = {}
    counts: dict[Loc, int] = {}  # array-of-tables path -> number of elements so far

    def resolve(keys: tuple[str, ...]) -> Loc:
        # A header like [steps.end] under [[steps]] means the last element of `steps`.
        path: Loc = ()
        for key in keys:
            path = (*path, key)
            if path in counts:
                path = (*path, counts[path] - 1)
        return path

    table: Loc = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER_RE.match(line)
        if header:
            keys = _split(header.group(2))
            if header.group(1) == "[[":
                array = (*resolve(keys[:-1]), keys[-1])
                counts[array] = counts.get(array, 0) + 1
                table = (*array, counts[array] - 1)
            else:
                table = resolve(keys)
            index.setdefault(table, number)
            continue
        key_line = _KEY_LINE_RE.match(line)
        if key_line:
            keys = _split(key_line.group(1))
            for depth in range(1, len(keys) + 1):
                index.setdefault((*table, *keys[:depth]), number)
    return index


def line_of(index: dict[Loc, int], loc: Loc) -> int | None:
    """Line of the longest known prefix of `loc` (a missing key points at its table)."""
    for depth in range(len(loc), 0, -1):
        line = index.get(loc[:depth])
        if line is not None:
            return line
    return None
