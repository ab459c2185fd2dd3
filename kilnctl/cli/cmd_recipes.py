"""`kilnctl validate FILE...`, `kilnctl schema [--out DIR]`, `kilnctl show NAME|FILE`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from kilnctl.cli.main import UserError
from kilnctl.cli.plant_arg import plant_for
from kilnctl.cli.quantity_args import kiln_power_kw, kiln_temperature_c, lot_area_dm2
from kilnctl.plant import PLANT_FILE, Plant, load_plant
from kilnctl.recipes import estimate
from kilnctl.recipes.loader import (
    REF_RULE,
    RecipeError,
    RecipeLibrary,
    content_hash,
    find_recipe,
    library_for,
    load_recipe,
    read_toml,
)
from kilnctl.recipes.models import FiringProfile, Job, PlatingRecipe, PlatingStep, Recipe
from kilnctl.recipes.process_limits import VitreousEnamelLimits, defaults_for, hold_limits
from kilnctl.recipes.rules import check_recipe, finding_lines
from kilnctl.recipes.schema import SCHEMA_FILES, schema_of, write_schemas

PLANT_SECTIONS = frozenset({"devices", "kilns", "tanks", "vitreous_enamel"})
KIND_WORDS = {"firing": "firing profile", "plating": "plating recipe", "job": "job"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the validate, schema and show subcommands."""
    validate = subparsers.add_parser(
        "validate",
        help="check recipe files (units, fields, material rules, device limits)",
        description="Validate recipe files (and plant configs). Device limits are checked "
        f"against the plant every command uses: --config, else ./{PLANT_FILE}, else the "
        "bundled example plant (named on stderr). " + REF_RULE,
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=run_validate)

    schema = subparsers.add_parser("schema", help="export JSON Schema of the recipe files")
    schema.add_argument("--out", metavar="DIR", help="write one .schema.json per kind here")
    schema.set_defaults(func=run_schema)

    show = subparsers.add_parser(
        "show",
        help="segments/steps, plot, duration, energy and plating estimates",
        description="Describe a recipe with its estimates and the defaults they use. " + REF_RULE,
    )
    show.add_argument("recipe", metavar="NAME|FILE")
    show.add_argument(
        "--area", type=lot_area_dm2, metavar="DM2", help="lot area for plating (dm², or '12 dm2')"
    )
    show.add_argument(
        "--start-c", type=kiln_temperature_c, help="kiln temperature at the start (°C)"
    )
    show.add_argument(
        "--kw", type=kiln_power_kw, help="kiln element power for the energy estimate (kW)"
    )
    show.add_argument("--kiln", help="kiln of the plant config whose power to use")
    show.add_argument("--no-plot", action="store_true", help="leave out the terminal plot")
    show.set_defaults(func=run_show)


# ---------------------------------------------------------------- helpers


def _any_plant(config: str | None) -> Plant | None:
    """A plant for figures (kiln power): --config, ./kilnctl.toml or the bundled example."""
    return plant_for(config, optional=True)


def _library_for(path: Path | None) -> RecipeLibrary:
    return library_for(path)


def format_duration(seconds: float | None) -> str:
    """'18 s', '2 min 30 s', '1 h 05 min'."""
    if seconds is None:
        return "?"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _num(value: float | None, unit: str, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g} {unit}"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------- validate


def _looks_like_plant(path: Path) -> bool:
    """A plant config has no `kind` but devices, kilns or tanks (so `validate` takes both)."""
    data = read_toml(path)
    return "kind" not in data and bool(data.keys() & PLANT_SECTIONS)


def run_validate(args: argparse.Namespace) -> int:
    """Validate every file; print one line per problem; exit 1 if any error."""
    # The same plant `run` and `simulate` use: a job that validates here is not refused there.
    plant = plant_for(args.config)
    failed = False
    for name in args.files:
        path = Path(name)
        try:
            if _looks_like_plant(path):
                load_plant(path)
                print(f"{path}: ok: plant config")
                continue
            recipe = load_recipe(path)
        except RecipeError as exc:  # PlantConfigError is one too
            failed = True
            for line in exc.lines():
                print(line)
            continue
        findings = check_recipe(recipe, _library_for(path), plant)
        errors = [f for f in findings if f.level == "error"]
        for line in finding_lines(findings, path):
            print(line)
        if errors:
            failed = True
            continue
        kind = KIND_WORDS[recipe.kind]
        print(f"{path}: ok: {kind} {recipe.name!r} (sha256 {content_hash(recipe)[:12]})")
    return 1 if failed else 0


# ---------------------------------------------------------------- schema


def run_schema(args: argparse.Namespace) -> int:
    """Print the schemas as one JSON object, or write them as files into --out."""
    if args.out:
        for path in write_schemas(args.out):
            print(path)
        return 0
    bundle = {name: schema_of(model) for name, model in SCHEMA_FILES.items()}
    print(json.dumps(bundle, indent=2, ensure_ascii=False))
    return 0


# ---------------------------------------------------------------- show


def _resolve(target: str) -> tuple[Recipe, RecipeLibrary]:
    """The recipe and the library its refs resolve in, as simulate and run find them."""
    try:
        recipe, _, library = find_recipe(target)
    except RecipeError as exc:
        raise UserError(str(exc)) from None
    return recipe, library


def run_show(args: argparse.Namespace) -> int:
    """Describe a recipe with its estimates."""
    recipe, library = _resolve(args.recipe)
    plant = _any_plant(args.config)
    print(f"{recipe.name} — {KIND_WORDS[recipe.kind]} (sha256 {content_hash(recipe)[:12]})")
    if recipe.description:
        print(recipe.description)
    print()
    limits = plant.vitreous_enamel if plant is not None else VitreousEnamelLimits()
    if isinstance(recipe, FiringProfile):
        kw = _kiln_power(args, plant, args.kiln)
        start = args.start_c if args.start_c is not None else estimate.AMBIENT_C
        print(show_firing(recipe, start, kw, plot=not args.no_plot, limits=limits))
    elif isinstance(recipe, PlatingRecipe):
        print(show_plating(recipe, args.area))
    else:
        print(show_job(recipe, library, plant, args))
    used = [str(d) for d in defaults_for(recipe, library, limits)]
    used += _power_defaults(recipe, args, plant)
    if used:
        print("\nDefaults used (not set in the file):")
        print("\n".join(f"  {line}" for line in used))
    return 0


def _power_defaults(recipe: Recipe, args: argparse.Namespace, plant: Plant | None) -> list[str]:
    """The kiln power behind an energy estimate, when neither --kw nor the plant gives it."""
    if args.kw is not None:
        return []
    if isinstance(recipe, FiringProfile):
        kilns = [args.kiln]
    elif isinstance(recipe, Job):
        kilns = list(dict.fromkeys(s.kiln for s in recipe.steps if s.kind == "firing"))
    else:
        return []
    lines = []
    for kiln in kilns:
        power = None
        if plant is not None:
            try:
                power = plant.kiln(kiln)[1].power_kw
            except KeyError:
                power = None
        if power is None:
            which = f"kiln {kiln}" if kiln else "kiln (none named with --kiln)"
            lines.append(
                f"{which} power_kw = {estimate.DEFAULT_KILN_KW:g} kW (energy estimate "
                "default; set power_kw in the plant config, or give --kiln or --kw)"
            )
    return lines


def _kiln_power(args: argparse.Namespace, plant: Plant | None, kiln: str | None) -> float:
    if args.kw is not None:
        return float(args.kw)
    if plant is not None:
        try:
            power = plant.kiln(kiln)[1].power_kw
        except KeyError as exc:
            if kiln is not None:
                raise UserError(str(exc.args[0])) from None
            power = None
        if power is not None:
            return power
    return estimate.DEFAULT_KILN_KW


def show_firing(
    profile: FiringProfile,
    start_c: float,
    power_kw: float,
    plot: bool,
    limits: VitreousEnamelLimits | None = None,
) -> str:
    """Segment table, plot, duration and energy of a firing profile; hold limits as the
    engine enforces them, a class default marked with '*'."""
    est = estimate.estimate_firing(profile, start_c, power_kw)
    rows = []
    for i, (seg, seg_est) in enumerate(zip(profile.segments, est.segments, strict=True), 1):
        rate = "max" if seg.rate_c_per_h is None else f"{seg.rate_c_per_h:g} °C/h"
        if seg.cooling and seg.rate_c_per_h is None:
            rate = "free cool"
        eff = hold_limits(seg, limits or VitreousEnamelLimits())
        limit_texts = [
            "-" if value is None else format_duration(value) + ("*" if default else "")
            for value, default in (
                (eff.warn_hold_s, eff.warn_default),
                (eff.max_hold_s, eff.max_default),
            )
        ]
        limits_text = " / ".join(limit_texts)
        rows.append(
            [
                str(i),
                rate,
                f"{seg.target_c:.0f} °C",
                format_duration(seg.hold_s) if seg.hold_s else "-",
                f"±{seg.soak_band_c:.3g} °C" if seg.soak_band_c else "-",
                limits_text,
                format_duration(seg_est.total_s),
            ]
        )
    headers = ["#", "rate", "target", "hold", "soak band", "warn/max hold", "est. time"]
    out = [
        f"max {profile.max_temp_c:.0f} °C"
        + (f", trip {profile.trip_c:.0f} °C" if profile.trip_c is not None else "")
        + f", deviation alarm +{profile.deviation_c:.0f} °C",
        "",
        render_table(headers, rows),
    ]
    if any("*" in row[5] for row in rows):
        out.append(
            "* vitreous enamel default (plant config [vitreous_enamel]); the file's own "
            "warn_hold / max_hold win"
        )
    if plot:
        out += ["", plot_schedule(profile.name, est.trajectory)]
    out += [
        "",
        f"Estimated duration: {format_duration(est.duration_s)} (from {start_c:.0f} °C)",
        f"Energy: ≈ {est.energy_kwh:.2f} kWh = {power_kw:g} kW × "
        f"{format_duration(est.on_time_s)} estimated element on-time",
        f"  assumes 'max' ramps at ~{estimate.FULL_POWER_RATE_C_PER_H:.0f} °C/h at full power, "
        f"holds at {estimate.HOLD_DUTY_AT_790:.0%} output at 790 °C (in proportion to "
        f"T - {estimate.AMBIENT_C:.0f} °C), free cooling with τ ≈ {estimate.COOLING_TAU_H:.1f} h; "
        "door openings not counted",
    ]
    return "\n".join(out)


def plot_schedule(title: str, trajectory: Sequence[tuple[float, float]]) -> str:
    """Terminal plot of setpoint (°C) over time; colour only on a terminal."""
    import plotext as plt  # imported here: only `show` needs it

    # Hours read better than hundreds of minutes on a long schedule.
    scale, unit = (3600.0, "h") if trajectory[-1][0] > 3 * 3600.0 else (60.0, "min")
    times = [t / scale for t, _ in trajectory]
    temps = [c for _, c in trajectory]
    plt.clear_figure()
    plt.plot(times, temps, marker="braille")
    plt.title(f"{title}: setpoint")
    plt.xlabel(unit)
    plt.ylabel("°C")
    plt.plotsize(72, 16)
    text = str(plt.build())
    plt.clear_figure()
    return text if sys.stdout.isatty() else str(plt.uncolorize(text))


def _end_text(step: PlatingStep) -> str:
    end = step.end
    if end is None:
        return format_duration(step.duration_s)
    if end.time_s is not None:
        return format_duration(end.time_s)
    if end.amp_hours is not None:
        return f"{end.amp_hours:g} Ah"
    return f"{end.thickness_um:g} µm"


def show_plating(recipe: PlatingRecipe, area_dm2: float | None) -> str:
    """Step table with current, time, amp-hours and thickness for a lot of `area_dm2`."""
    rows = []
    total_s = 0.0
    total_ah = 0.0
    for i, step in enumerate(recipe.steps, 1):
        est = estimate.estimate_step(step, area_dm2)
        total_s += est.duration_s or 0.0
        total_ah += est.amp_hours or 0.0
        if step.current_density_a_dm2 is not None:
            setting = f"{step.current_density_a_dm2:.3g} A/dm²"
        elif step.current_a is not None:
            setting = f"{step.current_a:.3g} A"
        else:
            setting = "-"
        rows.append(
            [
                str(i),
                step.name,
                step.kind if step.polarity == "cathodic" else f"{step.kind} (anodic)",
                step.tank or "-",
                setting,
                _num(est.current_a, "A"),
                _end_text(step),
                format_duration(est.duration_s),
                _num(est.amp_hours, "Ah"),
                _num(est.thickness_um, "µm"),
            ]
        )
    headers = ["#", "step", "kind", "tank", "setting", "current", "end", "time", "Ah", "µm"]
    area = f"{area_dm2:g} dm²" if area_dm2 is not None else "unknown (give --area DM2)"
    out = [
        f"Lot area: {area}",
        "",
        render_table(headers, rows),
        "",
        f"Estimated line time: {format_duration(total_s)} (timed steps as written; "
        "rack moves not counted)",
    ]
    if area_dm2 is not None:
        out.append(f"Charge: {total_ah:.3g} Ah")
    if recipe.dose_every_ah:
        out.append(f"Brightener dosing every {recipe.dose_every_ah:g} Ah")
    out.append(
        "Thickness by Faraday's law with the step's efficiency or the deposit's default; "
        "soft starts pass half the charge of their ramp"
    )
    return "\n".join(out)


def show_job(
    job: Job, library: RecipeLibrary, plant: Plant | None, args: argparse.Namespace
) -> str:
    """Lot, step table with estimates, and each plating recipe's detail for the lot's area."""
    lot = job.lot
    area = args.area if args.area is not None else lot.area_dm2
    out = [
        f"Lot: {lot.pin_count} pins of {lot.material.value}, "
        f"{lot.area_per_pin_dm2:g} dm² each = {lot.area_dm2:g} dm²",
        "",
    ]
    rows = []
    details = []
    kiln_temps: dict[str | None, float] = {}
    total_s = 0.0
    total_kwh = 0.0
    for i, step in enumerate(job.steps, 1):
        figures = "-"
        duration: float | None = None
        try:
            if step.kind == "firing" and step.ref is not None:
                profile = library.get_firing(step.ref)
                start = kiln_temps.get(step.kiln, estimate.AMBIENT_C)
                kw = _kiln_power(args, plant, step.kiln)
                est = estimate.estimate_firing(profile, start, kw)
                kiln_temps[step.kiln] = profile.segments[-1].target_c
                duration = est.duration_s
                total_kwh += est.energy_kwh
                figures = f"≈ {est.energy_kwh:.2f} kWh (from {start:.0f} °C)"
            elif step.kind == "plating" and step.ref is not None:
                recipe = library.get_plating(step.ref)
                estimates = [estimate.estimate_step(s, area) for s in recipe.steps]
                duration = sum(e.duration_s or 0.0 for e in estimates)
                charge = sum(e.amp_hours or 0.0 for e in estimates)
                figures = f"{charge:.3g} Ah"
                details += ["", f"{step.label}: {recipe.name}", show_plating(recipe, area)]
        except RecipeError as exc:
            figures = f"error: {exc.problems[0].describe()}"
        total_s += duration or 0.0
        target = step.ref or step.text or ""
        where = step.kiln or "-"
        rows.append(
            [
                str(i),
                step.label,
                step.kind,
                target[:40],
                where,
                "-" if duration is None else format_duration(duration),
                figures,
            ]
        )
    headers = ["#", "label", "kind", "recipe / text", "kiln", "est. time", "estimate"]
    out += [render_table(headers, rows), ""]
    out.append(
        f"Estimated duration: {format_duration(total_s)} of process time "
        "(operator prompts and rack moves not counted)"
    )
    out.append(f"Kiln energy: ≈ {total_kwh:.2f} kWh (see `kilnctl show PROFILE` for assumptions)")
    out += details
    return "\n".join(out)
