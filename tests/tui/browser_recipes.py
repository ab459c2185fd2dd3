"""A recipe folder for the browser tests, written for tests/service/svc_plant.py's plant
(kiln k1, max 1000 °C; tank gold, 5 A): a good job, a job that breaks a material rule, a
bare firing profile, a job written for other units' names, and a file that does not load."""

from __future__ import annotations

from pathlib import Path

BAKE = """kind = "firing"
name = "bake"
max_temp = 300

[[segments]]
rate = "max"
target = 100
hold = "20 min"
warn_hold = "1 min"
"""

LONG = """kind = "firing"
name = "long"
max_temp = 900

[[segments]]
rate = 100
target = 800
hold = "1 h"
warn_hold = "2 h"
max_hold = "2 h"
"""

FLASH = """kind = "plating"
name = "flash"

[[steps]]
name = "gold flash"
kind = "electro"
tank = "gold"
current_density = "1.2 A/dm2"
voltage_limit = "6 V"
deposit = "gold"
end = { time = "30 s" }
"""

PINS = """kind = "job"
name = "pins"

[lot]
material = "brass"
pin_count = 25
area_per_pin = "0.12 dm2"

[[steps]]
kind = "firing"
ref = "bake"
kiln = "k1"
label = "bake"

[[steps]]
kind = "plating"
ref = "flash"
label = "gold flash"
"""

ZINC = """kind = "job"
name = "zinc-enamel"

[lot]
material = "zinc_alloy"
pin_count = 25
area_per_pin = "0.12 dm2"

[[steps]]
kind = "firing"
label = "enamel"
kiln = "k1"
ref = "long"
"""
ZINC_REF_LINE = 13
"""Line of `ref = "long"` in ZINC: where the material rule's error points."""

BROKEN = """kind = "firing"
name = "broken"
max_temp = 900

[[segments]]
rate = 100
target = "hot"
"""

RECIPES = {
    "bake": BAKE,
    "long": LONG,
    "flash": FLASH,
    "pins": PINS,
    "zinc-enamel": ZINC,
    "broken": BROKEN,
}


def write_recipes(folder: Path) -> Path:
    """Write the recipes into `folder` (made if needed); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in RECIPES.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder
