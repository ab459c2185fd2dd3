"""Load recipe files (TOML) into validated models, with errors a user can act on:
"file: field.path: value: what is wrong (allowed: ...)".
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from kilnctl.recipes.models import (
    RECIPE_KINDS,
    CrossFieldError,
    FiringProfile,
    Job,
    Loc,
    PlatingRecipe,
    Recipe,
    format_loc,
)
from kilnctl.recipes.toml_lines import key_lines, line_of

_TOML_POSITION_RE = re.compile(r"\(at line (\d+), column (\d+)\)")
_MAX_VALUE_CHARS = 60
NO_VALUE: object = object()  # Problem.value when there is no value to show
_M = TypeVar("_M", FiringProfile, PlatingRecipe, Job)
_T = TypeVar("_T", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a recipe file."""

    field_path: str
    value: object
    message: str
    line: int | None = None
    loc: Loc = ()  # the key path behind field_path, to find the line in the file

    def describe(self) -> str:
        """'field.path: value: message' (path and value left out when there are none)."""
        parts = [self.field_path] if self.field_path else []
        if self.value is not NO_VALUE:
            parts.append(_show_value(self.value))
        parts.append(self.message)
        return ": ".join(parts)


class RecipeError(Exception):
    """A recipe file that cannot be used, with every problem found in it."""

    def __init__(self, path: str | Path, problems: Sequence[Problem]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        super().__init__(self.path)

    def lines(self) -> list[str]:
        """One "file: field.path: value: message" line per problem."""
        out = []
        for problem in self.problems:
            where = self.path if problem.line is None else f"{self.path}:{problem.line}"
            out.append(f"{where}: {problem.describe()}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


class RecipeNotFoundError(RecipeError):
    """No recipe of that name in the library."""


def _show_value(value: object) -> str:
    if value is None:
        text = "(missing)"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    if isinstance(value, Mapping | list):
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that owns the last key of `loc` (to list its allowed keys)."""
    current: type[BaseModel] | None = model
    mapping_key_next = False  # after a dict-valued field comes a free key ("tanks.nickel")
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if mapping_key_next:
            mapping_key_next = False
            continue
        annotation = None if current is None else _field_by_key(current, part)
        if annotation is None:
            return None
        mapping_key_next = typing.get_origin(annotation) is dict
        current = _find_model(annotation)
    return current


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        aliases = getattr(info.validation_alias, "choices", None) or []
        if key == name or key in aliases:
            return info.annotation
    return None


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _find_model(arg)
            if found is not None:
                return found
    return None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The keys a recipe file may use for `model` (short names first)."""
    keys = []
    for name, info in model.model_fields.items():
        choices = getattr(info.validation_alias, "choices", None)
        keys.append(str(choices[0]) if choices else name)
    return keys


def _expected(model: type[BaseModel], key: str | int) -> str | None:
    """What a key of `model` accepts, in words, from its JSON Schema."""
    schema = model.model_json_schema()
    prop = schema.get("properties", {}).get(key)
    return None if prop is None else _describe(prop, schema.get("$defs", {}), str(key))


def _describe(prop: dict[str, Any], defs: dict[str, Any], key: str) -> str:
    if "$ref" in prop:
        target = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
        return _describe(target, defs, key) if "enum" in target else f"a [{key}] table"
    if "enum" in prop:
        return "one of " + ", ".join(str(v) for v in prop["enum"])
    if "anyOf" in prop:
        options = [_describe(o, defs, key) for o in prop["anyOf"] if o.get("type") != "null"]
        return " or ".join(options)
    kind = prop.get("type")
    if kind == "array":
        return f"[[{key}]] tables" if "$ref" in prop.get("items", {}) else "an array"
    if kind == "number":
        return f"a number {prop.get('description', '')}".strip()
    if kind == "integer":
        return "a whole number"
    if "pattern" in prop:
        return "a name of letters, digits, '.', '_', '-'"
    return str(prop.get("description", "text"))


def _explain(error: ErrorDetails, model: type[BaseModel]) -> list[Problem]:
    loc: Loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, CrossFieldError):
        return [
            Problem(format_loc(loc + sub), value, message, loc=loc + sub)
            for sub, value, message in cause.problems
        ]
    kind = error["type"]
    value: object = error.get("input")
    if kind == "missing":
        owner = _model_at(model, loc)
        expected = _expected(owner, loc[-1]) if owner and loc else None
        message = f"missing (required; allowed: {expected})" if expected else "missing (required)"
        return [Problem(format_loc(loc), NO_VALUE, message, loc=loc)]
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        allowed = ", ".join(allowed_keys(owner)) if owner else "see `kilnctl schema`"
        return [Problem(format_loc(loc), value, f"unknown key (allowed: {allowed})", loc=loc)]
    if kind == "value_error":
        message = str(cause) if cause is not None else error["msg"]
    elif kind in {"literal_error", "enum"}:
        message = f"not allowed (allowed: {ctx.get('expected', '?')})"
    elif kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        bounds = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
        allowed = ", ".join(f"{bounds[k]} {ctx[k]}" for k in bounds if k in ctx)
        message = f"out of range (allowed: {allowed})"
    elif kind == "string_pattern_mismatch":
        message = "not a valid name (allowed: letters, digits, '.', '_', '-'; no spaces)"
    elif kind in _TYPE_MESSAGES:
        message = _TYPE_MESSAGES[kind]
    elif kind == "too_short" and ctx.get("min_length") == 1:
        message = "must not be empty (allowed: at least one entry)"
    else:
        message = error["msg"]
    return [Problem(format_loc(loc), value, message, loc=loc)]


_TYPE_MESSAGES = {
    "int_type": "wrong type (allowed: a whole number)",
    "int_from_float": "wrong type (allowed: a whole number)",
    "int_parsing": "wrong type (allowed: a whole number)",
    "float_type": "wrong type (allowed: a number)",
    "float_parsing": "wrong type (allowed: a number)",
    "finite_number": "wrong value (allowed: a finite number)",
    "string_type": "wrong type (allowed: text in quotes)",
    "bool_type": "wrong type (allowed: true or false)",
    "list_type": "wrong type (allowed: an array, [[...]] tables)",
    "dict_type": "wrong type (allowed: a table)",
    "model_type": "wrong type (allowed: a table)",
    "model_attributes_type": "wrong type (allowed: a table)",
    "tuple_type": "wrong type (allowed: an array)",
}


def problems_from(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Translate a pydantic ValidationError into Problems with TOML key paths."""
    problems: list[Problem] = []
    for error in exc.errors():
        problems.extend(_explain(error, model))
    return problems


def validate_data(data: Mapping[str, Any], path: str | Path) -> Recipe:
    """Validate parsed TOML data; `kind` picks the model."""
    kind = data.get("kind")
    model = RECIPE_KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        value: object = NO_VALUE if kind is None else kind
        message = "missing (required)" if kind is None else "unknown recipe kind"
        raise RecipeError(
            path,
            [
                Problem(
                    "kind", value, f"{message} (allowed: {', '.join(RECIPE_KINDS)})", loc=("kind",)
                )
            ],
        )
    return validate_model(model, data, path)


def _toml_error(exc: tomllib.TOMLDecodeError, text: str) -> Problem:
    message = str(exc)
    match = _TOML_POSITION_RE.search(message)
    # "at end of document" carries no position: the last line is where it broke.
    line = int(match.group(1)) if match else text.count("\n") + 1
    message = _TOML_POSITION_RE.sub("", message).strip()
    if match:
        message += f" (column {match.group(2)})"
    return Problem("", NO_VALUE, f"TOML syntax: {message}", line)


def parse_toml(
    text: str, path: str | Path, error: type[RecipeError] = RecipeError
) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes `error` with the file and line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(path, [_toml_error(exc, text)]) from None
    except RecursionError:
        # tomllib recurses per nesting level; no recipe nests more than a few levels.
        raise error(path, [Problem("", NO_VALUE, "TOML syntax: nested too deeply")]) from None


def read_text(path: str | Path, error: type[RecipeError] = RecipeError) -> str:
    """The UTF-8 text of a file; unreadable files become `error`."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(path, [Problem("", NO_VALUE, f"not UTF-8 text: {exc.reason}")]) from None
    except OSError as exc:
        raise error(path, [Problem("", NO_VALUE, f"cannot read: {exc.strerror}")]) from None


def read_toml(path: str | Path, error: type[RecipeError] = RecipeError) -> dict[str, Any]:
    """Read and parse a TOML file; unreadable or malformed files become `error`."""
    return parse_toml(read_text(path, error), path, error)


def with_lines(exc: RecipeError, text: str) -> RecipeError:
    """The same error with each problem's line found in `text`."""
    index = key_lines(text)
    problems = [
        p if p.line is not None or not p.loc else replace(p, line=line_of(index, p.loc))
        for p in exc.problems
    ]
    return type(exc)(exc.path, problems)


def validate_model(
    model: type[_T], data: Any, path: str | Path, error: type[RecipeError] = RecipeError
) -> _T:
    """Validate `data` as `model`; problems become `error` naming the file and field paths."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(path, problems_from(exc, model)) from None


def parse_recipe(text: str, path: str | Path = "<text>") -> Recipe:
    """Parse and validate the TOML text of a recipe file."""
    data = parse_toml(text, path)
    try:
        return validate_data(data, path)
    except RecipeError as exc:
        raise with_lines(exc, text) from None


def load_recipe(path: str | Path) -> Recipe:
    """Load and validate one recipe file (firing profile, plating recipe or job)."""
    return parse_recipe(read_text(path), path)


def load_model(path: str | Path, model: type[_T], error: type[RecipeError] = RecipeError) -> _T:
    """Load a TOML file as `model` (e.g. the plant config), errors with file and line."""
    text = read_text(path, error)
    data = parse_toml(text, path, error)
    try:
        return validate_model(model, data, path, error)
    except RecipeError as exc:
        raise with_lines(exc, text) from None


def content_hash(recipe: Recipe) -> str:
    """sha256 (hex) of the canonical JSON of a validated recipe: its version in run records.

    Canonical: field names (not file keys), canonical units, sorted keys, no whitespace,
    so reformatting a file or writing "1450 F" instead of "787.8" keeps the hash."""
    canonical = json.dumps(
        recipe.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def default_profile_dirs() -> list[Path]:
    """./profiles (site recipes) before the shipped profiles/ of this checkout."""
    shipped = Path(__file__).resolve().parents[2] / "profiles"
    dirs = [Path.cwd() / "profiles", shipped]
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in {u.resolve() for u in unique}:
            unique.append(d)
    return unique


# The one rule every command follows to find what a job's `ref`s name (stated in --help).
REF_RULE = (
    "A job's refs resolve beside the job file first, then in ./profiles, then in the "
    "shipped profiles/."
)


def library_for(path: str | Path | None) -> RecipeLibrary:
    """The library a recipe file's refs resolve in: the file's own folder, then the
    default profile folders (REF_RULE); only the default folders when `path` is None."""
    beside = [Path(path).parent] if path is not None else []
    resolved = {d.resolve() for d in beside}
    return RecipeLibrary(
        [*beside, *(d for d in default_profile_dirs() if d.resolve() not in resolved)]
    )


def find_recipe(target: str) -> tuple[Recipe, Path | None, RecipeLibrary]:
    """A recipe named on the command line: a .toml path (or an existing file), else a name
    in the profile folders; with the library its refs resolve in (REF_RULE).
    Raises RecipeError (RecipeNotFoundError for an unknown name)."""
    path = Path(target)
    if target.endswith(".toml") or path.is_file():
        return load_recipe(path), path, library_for(path)
    library = library_for(None)
    return library.get(target), library.path_of(target), library


class RecipeLibrary:
    """Recipes by name from directories of TOML files; earlier directories win."""

    def __init__(self, dirs: Iterable[str | Path] | None = None) -> None:
        self.dirs = [Path(d) for d in dirs] if dirs is not None else default_profile_dirs()
        self._cache: dict[Path, tuple[int, Recipe]] = {}  # path -> (mtime_ns, recipe)

    def files(self) -> Iterator[Path]:
        """Every recipe file, in lookup order."""
        for d in self.dirs:
            yield from sorted(d.glob("*.toml"))

    def names(self) -> list[str]:
        """Names of the recipe files (their stems), without duplicates."""
        return sorted({p.stem for p in self.files()})

    def path_of(self, name: str) -> Path:
        """The file holding recipe `name`."""
        return self._entry(name)[0]

    def get(self, name: str) -> Recipe:
        """The validated recipe named `name` (file `name.toml` or a file whose name= is it)."""
        return self._entry(name)[1]

    def get_firing(self, name: str) -> FiringProfile:
        """A firing profile by name; RecipeError if `name` is another kind."""
        return self._typed(name, FiringProfile)

    def get_plating(self, name: str) -> PlatingRecipe:
        """A plating recipe by name; RecipeError if `name` is another kind."""
        return self._typed(name, PlatingRecipe)

    def get_job(self, name: str) -> Job:
        """A job by name; RecipeError if `name` is another kind."""
        return self._typed(name, Job)

    def _typed(self, name: str, model: type[_M]) -> _M:
        path, recipe = self._entry(name)
        if not isinstance(recipe, model):
            kind = model.model_fields["kind"].default
            raise RecipeError(
                path, [Problem("kind", recipe.kind, f"expected a {kind} recipe for {name!r}")]
            )
        return recipe

    def _load(self, path: Path) -> Recipe:
        # Re-read a file when it changed, so a long-running service sees edited recipes.
        stamp = path.stat().st_mtime_ns
        cached = self._cache.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, load_recipe(path))
            self._cache[path] = cached
        return cached[1]

    def _entry(self, name: str) -> tuple[Path, Recipe]:
        for path in (d / f"{name}.toml" for d in self.dirs):
            if path.is_file():
                return path, self._load(path)
        for path in self.files():
            try:
                recipe = self._load(path)
            except RecipeError:
                continue  # a broken unrelated file must not hide the one asked for
            if recipe.name == name:
                return path, recipe
        where = ", ".join(str(d) for d in self.dirs) or "(no directories)"
        raise RecipeNotFoundError(
            where,
            [Problem("ref", name, f"no recipe of that name (allowed: {', '.join(self.names())})")],
        )
