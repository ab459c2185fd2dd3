"""JSON Schema export of the recipe models (and the plant config) for editors.

The schemas describe the file keys (`rate`, `target`, ...) and accept numbers in canonical
units or "number unit" strings, as the loader does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kilnctl.plant import Plant
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "firing-profile.schema.json": FiringProfile,
    "plating-recipe.schema.json": PlatingRecipe,
    "job.schema.json": Job,
    "plant.schema.json": Plant,
}


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a model as a recipe file is written."""
    schema = model.model_json_schema(mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema}


def write_schemas(out_dir: str | Path) -> list[Path]:
    """Write one schema file per model into `out_dir` (created if needed); return the paths."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, model in SCHEMA_FILES.items():
        path = directory / filename
        path.write_text(
            json.dumps(schema_of(model), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written
