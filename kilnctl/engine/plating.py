"""A plating recipe run: its steps in order on the plant's tanks.

Electro steps: current = density × lot area (or current_a); soft-start ramp; constant
current with a voltage limit; amp-hours integrated from the measured current; end by time,
amp-hours or thickness (Faraday); refuse to start outside the bath band. Timed steps
(clean, rinse, dip) are operator prompts: prompt, timed wait, confirmation. Dosing
reminders every `dose_every_ah`. Every electro step ends with the rectifier safe.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

from drivers.errors import DeviceError
from drivers.protocols import Rectifier, RectifierReading, TemperatureController
from kilnctl.engine.comms import CommsWatch
from kilnctl.engine.interlocks import TANK_CODES, TankInterlocks
from kilnctl.engine.messages import PlatingStepFinished, PlatingStepStarted
from kilnctl.engine.runtime import RunAborted, RunContext
from kilnctl.recipes import faraday
from kilnctl.recipes.models import PlatingRecipe, PlatingStep


@dataclass(frozen=True)
class TankSetup:
    """A plating tank as the engine drives it (from the plant config)."""

    name: str
    rectifier: Rectifier
    heater: TemperatureController | None = None
    max_current_a: float | None = None
    max_voltage_v: float | None = None
    bath_band_c: tuple[float, float] | None = None


class StepRefused(RunAborted):
    """A step that must not start (bath out of band, current beyond the tank's limit)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, outcome="stopped")


def target_amp_hours(step: PlatingStep, area_dm2: float) -> float | None:
    """Amp-hours that end the step (amp-hours or thickness end), else None."""
    end = step.end
    if end is None:
        return None
    if end.amp_hours is not None:
        return end.amp_hours
    if end.thickness_um is not None and step.deposit is not None:
        return faraday.amp_hours_for(step.deposit, end.thickness_um, area_dm2, step.efficiency)
    return None


class PlatingRun:
    """Runs one PlatingRecipe for a lot of `area_dm2`."""

    def __init__(
        self, ctx: RunContext, recipe: PlatingRecipe, tanks: dict[str, TankSetup], area_dm2: float
    ) -> None:
        self.ctx = ctx
        self.recipe = recipe
        self.tanks = tanks
        self.area_dm2 = area_dm2
        self.total_ah = 0.0
        self._dosed_ah = 0.0

    async def run(self, resume: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run every step; returns per-step results. Raises RunAborted."""
        start = 0
        results: list[dict[str, Any]] = []
        if resume is not None:
            start = int(resume.get("plating_step", 0))
            results = list(resume.get("plating_results", []))
            self.total_ah = float(resume.get("total_ah", 0.0))
        for index in range(start, len(self.recipe.steps)):
            step = self.recipe.steps[index]
            self._remember(index, results)
            partial = resume.get("electro") if resume is not None and index == start else None
            self.ctx.emit(
                PlatingStepStarted(self.ctx.run_id, self.ctx.now(), index, step.name, step.kind)
            )
            if step.kind == "electro":
                result = await self._electro(step, partial)
            else:
                result = await self._timed(step)
            results.append(result)
            self.ctx.emit(
                PlatingStepFinished(
                    self.ctx.run_id, self.ctx.now(), index, step.name, "completed", result
                )
            )
        return {"recipe": self.recipe.name, "steps": results, "amp_hours": self.total_ah}

    def _remember(
        self, index: int, results: list[dict[str, Any]], electro: dict[str, Any] | None = None
    ) -> None:
        self.ctx.step_state = {
            "kind": "plating",
            "plating_step": index,
            "plating_results": results,
            "total_ah": self.total_ah,
            "electro": electro,
        }

    def _tank(self, name: str | None) -> TankSetup:
        if name is None or name not in self.tanks:
            raise StepRefused(
                f"tank {name!r} is not in the plant config "
                f"(known: {', '.join(sorted(self.tanks)) or 'none'})"
            )
        return self.tanks[name]

    async def _bath_c(self, tank: TankSetup) -> float | None:
        if tank.heater is None:
            return None
        try:
            return (await tank.heater.read()).pv_c
        except DeviceError:
            return None

    async def _check_bath(self, step: PlatingStep, tank: TankSetup) -> None:
        band = step.bath_temp_c or tank.bath_band_c
        if band is None or tank.heater is None:
            return
        bath = await self._bath_c(tank)
        if bath is None:
            raise StepRefused(f"{step.name}: bath temperature of {tank.name} unreadable")
        if not band[0] <= bath <= band[1]:
            raise StepRefused(
                f"{step.name}: bath {bath:.1f} °C outside "
                f"{band[0]:.0f}-{band[1]:.0f} °C: not started"
            )

    # ------------------------------------------------------------------ timed steps

    async def _timed(self, step: PlatingStep) -> dict[str, Any]:
        ctx = self.ctx
        if step.tank is not None and step.tank in self.tanks:
            await self._check_bath(step, self.tanks[step.tank])
        duration = step.duration_s or 0.0
        text = step.prompt or f"{step.name}: start the {duration:.0f} s timer when the load is in"
        await ctx.ask(text)
        ctx.state(step.name, "timing", f"{duration:.0f} s")
        end = ctx.clock.now() + duration
        while ctx.clock.now() < end:
            ctx.check_abort()
            if ctx.take_skip():
                break
            await ctx.clock.sleep(min(ctx.settings.period_s, end - ctx.clock.now()))
        await ctx.ask(f"{step.name}: time is up; take the load out and confirm")
        return {"step": step.name, "kind": "timed", "duration_s": duration}

    # ------------------------------------------------------------------ electro steps

    async def _electro(self, step: PlatingStep, partial: dict[str, Any] | None) -> dict[str, Any]:
        tank = self._tank(step.tank)
        current = step.current_for(self.area_dm2) or 0.0
        if tank.max_current_a is not None and current > tank.max_current_a:
            raise StepRefused(
                f"{step.name}: {current:.1f} A exceeds tank {tank.name}'s "
                f"maximum {tank.max_current_a:.1f} A"
            )
        await self._check_bath(step, tank)
        if step.prompt:
            await self.ctx.ask(step.prompt)
        try:
            result = await _ElectroStep(self, step, tank, current, partial).run()
        finally:
            confirmed = await self.ctx.make_safe(tank.rectifier, f"end of {step.name}")
        if not confirmed:
            # the next step may be a rinse with hands in the tank: the job must not go on
            raise RunAborted(
                f"{step.name}: output off of {tank.rectifier.name} not confirmed",
                outcome="failed",
            )
        return result

    def add_amp_hours(self, ah: float) -> None:
        self.total_ah += ah
        every = self.recipe.dose_every_ah
        if every and self.total_ah - self._dosed_ah >= every:
            self._dosed_ah += every * ((self.total_ah - self._dosed_ah) // every)
            self.ctx.notice(
                self.recipe.name,
                "dosing",
                f"{self.total_ah:.1f} Ah passed: dose brightener now (every {every:g} Ah)",
            )


class _ElectroStep:
    """One electro step's loop: soft start, CC, amp-hour integration, end condition."""

    def __init__(
        self,
        run: PlatingRun,
        step: PlatingStep,
        tank: TankSetup,
        current_a: float,
        partial: dict[str, Any] | None,
    ) -> None:
        self.run_ = run
        self.ctx = run.ctx
        self.step = step
        self.tank = tank
        self.current_a = current_a
        self.target_ah = target_amp_hours(step, run.area_dm2)
        self.time_s = step.end.time_s if step.end is not None else None
        self.amp_hours = float(partial["amp_hours"]) if partial else 0.0
        self.elapsed_s = float(partial["elapsed_s"]) if partial else 0.0
        limits = replace(
            self.ctx.settings.tank_limits,
            max_current_a=tank.max_current_a,
            max_voltage_v=tank.max_voltage_v,
        )
        self.interlocks = TankInterlocks(limits)
        self.comms = CommsWatch(self.ctx, tank.name)
        self.amps_sp = 0.0
        self._output_on = False
        self._last_amps: float | None = None
        self._since_change = 0.0

    def _current_now(self) -> float:
        soft = self.step.soft_start_s
        if soft > 0 and self.elapsed_s < soft:
            return self.current_a * max(self.elapsed_s, 0.0) / soft
        return self.current_a

    async def _output(self, on: bool) -> None:
        rect = self.tank.rectifier
        if on and not self._output_on:
            if self.step.voltage_limit_v is not None:
                await rect.set_voltage_limit(self.step.voltage_limit_v)
            self.amps_sp = self._current_now()
            await rect.set_current(self.amps_sp)
            await rect.enable()
            self._since_change = 0.0
            self.interlocks.new_step()
        elif not on and self._output_on:
            await rect.disable()
        self._output_on = on
        self._last_amps = None

    def _plating(self) -> bool:
        """Output on and not held: the step's clock and amp-hours are running."""
        return self._output_on and not self._held()

    def _ends_on_time(self, dt: float) -> bool:
        """True when a time-ended step, plating now, reaches its end within `dt`."""
        return (
            self.target_ah is None
            and self.time_s is not None
            and self._last_amps is not None
            and self._plating()
            and self.elapsed_s + dt >= self.time_s - 1e-9
        )

    def _finish_on_time(self, dt: float) -> None:
        assert self._last_amps is not None
        ah = self._last_amps * dt / 3600.0
        self.amp_hours += ah
        self.run_.add_amp_hours(ah)
        self.elapsed_s += dt

    def _held(self) -> bool:
        return self.ctx.paused or self.ctx.alarms.holds(self.tank.name)

    async def _start(self) -> None:
        """Turn the output on. A device error is retried every period under the comms-loss
        policy, as on any other command: the comms_loss alarm after a few errors, the step
        failed (RunAborted, the device's message) past comms_stop_s; output off between
        attempts. Returns early, output off, when the operator pauses."""
        ctx = self.ctx
        while not ctx.paused:
            ctx.check_abort()
            try:
                await self._output(True)
            except DeviceError as exc:
                self.comms.failed(exc)
                await self._off_after_failed_start()
                await ctx.clock.sleep(ctx.settings.period_s)
                continue
            self.comms.ok()
            return

    async def _off_after_failed_start(self) -> None:
        # The enable may have reached the device though its answer was lost. One try: the
        # next attempt follows within a period, and the step's end makes the rectifier safe.
        with contextlib.suppress(DeviceError):
            await self.tank.rectifier.disable()

    def _done(self) -> bool:
        if self.target_ah is not None:
            return self.amp_hours >= self.target_ah - 1e-9
        return self.time_s is not None and self.elapsed_s >= self.time_s - 1e-9

    def _time_left(self) -> float:
        """Seconds to the end at the present current (the last period is shortened)."""
        if self.target_ah is not None:
            amps = self._last_amps or self.current_a
            return (self.target_ah - self.amp_hours) / max(amps, 1e-9) * 3600.0
        return (self.time_s or 0.0) - self.elapsed_s

    async def run(self) -> dict[str, Any]:
        ctx = self.ctx
        period = ctx.settings.period_s
        started = ctx.clock.now()
        self.ctx.state(self.tank.name, "plating", self.step.name)
        last_t = ctx.clock.now()
        while True:
            ctx.check_abort()
            if not self._output_on and not self._held():
                await self._start()
                last_t = ctx.clock.now()  # time spent starting is not plating time
            now = ctx.clock.now()
            dt = now - last_t
            last_t = now
            if self._ends_on_time(dt):
                # The end time is known in advance: switch off on time, accounting the last
                # interval at the last measured current, rather than after one more reading
                # (a reading costs seconds of simulated time on a paced line at 60x).
                self._finish_on_time(dt)
                break
            if await self._tick(dt) or ctx.take_skip():
                break
            # the step's clock ran on while the reading and checks took their time
            busy = ctx.clock.now() - last_t if self._plating() else 0.0
            await ctx.clock.sleep(min(period, max(self._time_left() - busy, 1e-3)))
        await self._output(False)
        step = self.step
        result: dict[str, Any] = {
            "step": step.name,
            "kind": "electro",
            "tank": self.tank.name,
            "current_a": self.current_a,
            "amp_hours": self.amp_hours,
            "plating_s": self.elapsed_s,
            "duration_s": ctx.clock.now() - started,
        }
        if step.deposit is not None:
            result["thickness_um"] = faraday.thickness_um(
                step.deposit, self.amp_hours, self.run_.area_dm2, step.efficiency
            )
        # what QC compares the XRF readings with (kilnctl qc): the recipe as it ran
        if step.end is not None and step.end.thickness_um is not None:
            result["target_thickness_um"] = step.end.thickness_um
        if step.thickness_tolerance_um is not None:
            result["thickness_tolerance_um"] = list(step.thickness_tolerance_um)
        return result

    async def _tick(self, dt: float) -> bool:
        """Integrate the last period, read, check, command; True when the step is done."""
        paused = self._held()
        if self._output_on and not paused:
            self.elapsed_s += dt
            self._since_change += dt
        try:
            if paused and self._output_on:
                await self._output(False)
            amps = self._current_now()
            if self._output_on and abs(amps - self.amps_sp) > 1e-6:
                # soft-start ramp: command before reading, so the reading shows this period
                await self.tank.rectifier.set_current(amps)
                self.amps_sp = amps
            reading = await self.tank.rectifier.read()
        except DeviceError as exc:
            # past the error limit the comms_loss alarm (HOLD) turns the output off next tick
            self.comms.failed(exc)
            return False
        self.comms.ok()
        self._integrate(reading, dt if self._output_on and not paused else 0.0)
        await self._check(reading)
        return self._done()

    def _integrate(self, reading: RectifierReading, dt: float) -> None:
        amps = reading.amps if reading.output_on else 0.0
        if self._last_amps is not None and dt > 0:
            # trapezoid between the last two measured currents
            ah = (self._last_amps + amps) / 2.0 * dt / 3600.0
            self.amp_hours += ah
            self.run_.add_amp_hours(ah)
        self._last_amps = amps
        self.ctx.sample(
            self.tank.name,
            {
                "volts": reading.volts,
                "amps": reading.amps,
                "amp_hours": self.amp_hours,
                "amps_sp": self.amps_sp,
            },
        )
        self.run_._remember(
            self.run_.recipe.steps.index(self.step),
            self.ctx.step_state.get("plating_results", []),
            {"amp_hours": self.amp_hours, "elapsed_s": self.elapsed_s},
        )
        self.ctx.maybe_checkpoint()

    async def _check(self, reading: RectifierReading) -> None:
        ctx = self.ctx
        bath = await self.run_._bath_c(self.tank)
        if bath is not None:
            ctx.sample(f"{self.tank.name}.bath", {"bath_c": bath})
        settled = self._since_change >= ctx.settings.tank_limits.settle_s and (
            self.step.soft_start_s <= self.elapsed_s
        )
        found = self.interlocks.check(
            reading,
            amps_sp=self.amps_sp,
            volts_limit=self.step.voltage_limit_v,
            settled=settled,
            bath_c=bath,
            bath_band=self.step.bath_temp_c or self.tank.bath_band_c,
        )
        ctx.alarms.sync(self.tank.name, found, TANK_CODES)
        stopping = ctx.alarms.stopping(self.tank.name)
        if stopping is not None:
            await ctx.make_safe(self.tank.rectifier, stopping.spec.code)
            raise RunAborted(stopping.message, outcome="aborted")
