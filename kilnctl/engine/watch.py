"""The plant watch: every configured kiln and tank that is in no run is still read and
judged, because a welded relay or a shorted output stage does not wait for a run.

Each watch period (the control period) every idle kiln's controller, every idle tank's
rectifier and every idle tank's bath heater controller is read once (a device a run drives
or reads is the run's to sample: `busy` names them all), and:

* stuck_relay: a kiln's PV rising with its output at 0 (the same rule as in a run,
  `interlocks.stuck_relay_rise`);
* over_temperature: a kiln's PV above its rated maximum (plant config max_temp);
* output_stuck_on: a rectifier's current flowing while its output is off.

A bath heater is read for its PV, SP and output only (`latest`, shown by `status`): a bath
outside its band between runs is heating up or cooling down, not a fault, and the run
refuses a step out of band (plating.StepRefused) and alarms on it while plating; the
watch's alarms all cut the power, which would switch the bath heater off.

A new alarm puts the device safe again, opens the kiln's contactor where the plant config
names one (read back), and says what a person must do. The watch's alarms latch
(AlarmBook) until acknowledged: `AckAlarm(watch.run_id, alarm_id)` through the engine.
A run's alarm of these kinds that is still up when the run ends is carried over, so a
stuck relay stays raised after the run it was found in. Events are published like a
run's and journaled in a "plant watch" record, opened at the first alarm. The record is
finished when the watch stops with no alarm in its book; with one it stays open, and the
next service's watch carries it on (`carry_over`): the alarms are raised again, their
action (device safe, contactor open) taken again, and a run on that kiln or tank is
refused (`blocking`) until a person has acknowledged them and their condition has gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from drivers.errors import DeviceError
from kilnctl.clock import Clock
from kilnctl.engine.alarms import STOPPING_ACTIONS, AlarmBook
from kilnctl.engine.contactor import Contactor, contactor_of, cut_power
from kilnctl.engine.firing import make_safe
from kilnctl.engine.interlocks import (
    KilnLimits,
    _IdleWindow,
    stuck_relay_judged,
    stuck_relay_rise,
)
from kilnctl.engine.latched import Unresolved, raise_again, unresolved_in
from kilnctl.engine.messages import Event, Notice, RunStarted
from kilnctl.journal import Journal

log = logging.getLogger(__name__)

WATCH_JOB = "plant watch"
"""Job name of the watch's journal record (not a run to resume)."""

KILN_WATCH_CODES = ("stuck_relay", "over_temperature")
TANK_WATCH_CODES = ("output_stuck_on",)
WATCH_CODES = frozenset(KILN_WATCH_CODES + TANK_WATCH_CODES)

STUCK_ON_MIN_A = 0.5
"""Current above this with the output off is the output stage conducting (a meter's
zero offset and ripple stay well under it)."""
STUCK_ON_FRAC = 0.02
"""... or above this fraction of the tank's maximum current, whichever is larger."""


@dataclass
class _Watched:
    """One kiln or tank the watch reads: its device, contactor and state between reads."""

    name: str
    device_name: str
    device: Any
    codes: tuple[str, ...]
    """Alarm codes judged on it; () for a bath heater (only read)."""
    max_temp_c: float | None = None
    max_current_a: float | None = None
    contactor: Contactor | None = None
    idle: _IdleWindow | None = None


class PlantWatch:
    """Reads and judges every kiln and tank not in a run, until `stop()`."""

    def __init__(
        self,
        plant: Any,
        devices: Mapping[str, object],
        clock: Clock,
        publish: Callable[[Event], None],
        busy: Callable[[], set[str]],
        journal: Journal | None = None,
        period_s: float = 1.0,
        limits: KilnLimits | None = None,
    ) -> None:
        self.clock = clock
        self.journal = journal
        self.period_s = period_s
        self.limits = limits or KilnLimits()
        self._publish = publish
        self._busy = busy
        self._record: str | None = None
        # Latched for longer than a run's alarms: a stuck relay is re-judged only after
        # stuck_min_s of history, and must not clear in between.
        self.alarms = AlarmBook(
            "watch", self._emit, clock.wall_time, clear_after_s=self.limits.stuck_window_s
        )
        self.watched = _watched(plant, devices)
        self.periods: dict[str, float] = {}
        """Service seconds between the watch's last two reads of each device (by name):
        one watch cycle, longer than period_s when the devices' lines are slow (an RTU
        line at a sped-up clock, a device timing out). For `status`: how old is old."""
        self._tried: dict[str, float] = {}
        self.latest: dict[str, dict[str, Any]] = {}
        """The last reading of each idle kiln/tank, by device name, in the run samples'
        form plus "t" (Unix time): a kiln's or bath heater's pv_c, sp_c, out_pct (°C, %);
        a rectifier's volts, amps, amp_hours (the device's counter, None without one),
        output_on. For `status`."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._told_open = ""  # the alarms last logged as carried over at a stop
        self._act_again: set[str] = set()
        """Kilns/tanks whose carried-over alarm's action is taken again at their next check."""

    @property
    def run_id(self) -> str:
        """The run id the watch's events carry (and AckAlarm takes)."""
        return self.alarms.run_id

    # ------------------------------------------------------------------ life

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._stopping = True
        while task is not None and not task.done():
            # Python 3.11's wait_for (in pymodbus's request) can swallow a cancel that
            # meets its reply: the service then never stopped. Cancel until it ends; the
            # loop also ends on the flag at its next period.
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        if self._record is None or self.journal is None:
            return
        if self.alarms.any_active:
            # A person has not seen them off: the record stays open for the next start's
            # watch to carry on (carry_over), so a restart never forgets a latched alarm.
            still = ", ".join(a.alarm_id for a in self.alarms.active)
            if still != self._told_open:  # stop() comes twice on a service's way out
                self._told_open = still
                log.warning(
                    "plant watch stopped with %s still raised: the next start carries it over",
                    still,
                )
            return
        self.journal.finish_run(self._record, self.clock.wall_time(), "completed")
        self._record = None  # a later alarm (a run's, adopted) opens a new record

    def carry_over(self, records: list[str]) -> None:
        """Take over the unfinished watch records of an earlier service (oldest first):
        their alarms still raised are raised again here (acknowledged again if they were),
        in the newest record, which this watch goes on writing; the older ones are
        finished "stopped". Call before `start`."""
        if self.journal is None or not records:
            return
        carried = [a for r in records for a in unresolved_in(self.journal, r)]
        now = self.clock.wall_time()
        for old in records[:-1]:
            self.journal.finish_run(old, now, "stopped")
        if not carried:
            self.journal.finish_run(records[-1], now, "stopped")
            return
        self._record = self.alarms.run_id = records[-1]
        self._publish(RunStarted(self._record, now, WATCH_JOB, "", resumed=True))
        self.carry_alarms(carried, "still raised when the service restarted")

    def carry_alarms(self, alarms: list[Unresolved], note: str) -> None:
        """Raise again here the alarms of the kinds the watch judges among `alarms` (read
        from a run's record that did not finish), their action taken again."""
        mine = [a for a in alarms if a.spec.code in WATCH_CODES]
        raise_again(self.alarms, mine, note)
        self._act_again.update(a.source for a in mine if a.stops_runs)

    def blocking(self, devices: set[str]) -> list[str]:
        """Why a run may not start on `devices`: the watch's alarms of their kilns/tanks
        whose action stops runs (the device is held safe), until acknowledged and gone."""
        names = {i.name for i in self.watched if i.device_name in devices}
        return [
            f"{a.alarm_id} ({a.spec.severity.value}, "
            f"{'acknowledged' if a.acked else 'not acknowledged'}"
            f"{'' if a.present else ', condition gone'})"
            for a in self.alarms.active
            if a.source in names and self.alarms.action_of(a) in STOPPING_ACTIONS
        ]

    async def _loop(self) -> None:
        # One loop per device: a device that does not answer costs its line's time-outs
        # (and waits its turn behind the safe-keeper's retries to it) on every read; in
        # one loop over all devices that stopped the watch of every other kiln and tank.
        await asyncio.gather(*(self._watch_one(item) for item in self.watched))

    async def _watch_one(self, item: _Watched) -> None:
        next_t = self.clock.now()
        while not self._stopping:
            await self._check_item(item, self._busy())
            # a slow read is not made up for by a burst of reads after it
            next_t = max(next_t + self.period_s, self.clock.now())
            await self.clock.sleep_until(next_t)

    # ------------------------------------------------------------------ alarms

    def _emit(self, event: Event) -> None:
        if self.journal is not None:
            if self._record is None:
                self._record = self.journal.start_run(
                    job_name=WATCH_JOB,
                    lot_id="",
                    recipe_hashes={},
                    started_at=event.t,
                    meta={"watch": True},
                )
                # the record's start, so the service's views (status, TUI) take its alarms
                self._publish(RunStarted(self._record, event.t, WATCH_JOB, ""))
            event = replace(event, run_id=self._record)
            self.alarms.run_id = self._record
            data = event.to_dict()
            for key in ("kind", "run_id", "t"):
                data.pop(key)
            self.journal.record_event(self._record, event.t, event.kind, data)
        self._publish(event)

    def ack(self, alarm_id: str, who: str) -> bool:
        return self.alarms.ack(alarm_id, who)

    def adopt(self, book: AlarmBook) -> None:
        """Carry over a finished run's alarms of the kinds the watch judges that are still
        up (a person has not seen them off): raised again here, latched until acked."""
        for alarm in book.active:
            if alarm.spec.code in WATCH_CODES and not (alarm.acked and not alarm.present):
                self.alarms.raise_alarm(
                    alarm.source, alarm.spec.code, f"{alarm.message} (found in run {book.run_id})"
                )

    # ------------------------------------------------------------------ checks

    async def check_once(self) -> None:
        """Read and judge every idle kiln and tank once (each device on its own, at once:
        a slow one does not hold up the others)."""
        busy = self._busy()
        await asyncio.gather(*(self._check_item(item, busy) for item in self.watched))

    async def _check_item(self, item: _Watched, busy: set[str]) -> None:
        """Read and judge one kiln or tank unless a run has it (in `busy`). Never raises
        but for a cancel: a failure is logged, the next period tries again."""
        if item.device_name in busy:
            if item.idle is not None:
                item.idle.reset()
            self._tried.pop(item.device_name, None)  # a run's time is no watch cycle
            return
        # from one attempt to the next: a device that stops answering keeps its
        # period while its last reading ages, so it shows old
        now = self.clock.now()
        last = self._tried.get(item.device_name)
        if last is not None:
            self.periods[item.device_name] = now - last
        self._tried[item.device_name] = now
        try:
            await self._check(item)
        except DeviceError as exc:  # comms between runs: the next run will say
            log.debug("watch: %s: %s", item.name, exc)
        except Exception:  # a bug must not end the watch of the other devices
            log.exception("watch: checking %s failed", item.name)

    async def _check(self, item: _Watched) -> None:
        reading = await item.device.read()
        self.latest[item.device_name] = reading_values(reading, self.clock.wall_time())
        if not item.codes:
            return  # a bath heater: read for status only (see the module docstring)
        found = self._judge(item, reading)
        if not found and not self.alarms.any_active:
            return
        titles = [a.spec.title for a in self.alarms.sync(item.name, found, item.codes)]
        if item.name in self._act_again:  # an alarm carried over from before a restart
            self._act_again.discard(item.name)
            titles = titles or [a.spec.title for a in self.alarms.of(item.name)][:1]
        for title in titles:
            if item.device_name in self._busy():
                continue  # a run took the device meanwhile: it is the run's now
            await self._act(item, title)

    def _judge(self, item: _Watched, reading: Any) -> dict[str, str]:
        found: dict[str, str] = {}
        if item.idle is not None:  # a kiln
            pv = reading.pv_c
            if reading.sensor_break or not self.limits.pv_min_c <= pv <= self.limits.pv_max_c:
                item.idle.reset()
                return found
            stuck = stuck_relay_rise(
                item.idle, self.clock.now(), pv, reading.output_pct, self.limits
            )
            if stuck is not None:
                found["stuck_relay"] = f"between runs: {stuck}"
            elif not stuck_relay_judged(item.idle, self.clock.now(), self.limits) and any(
                a.spec.code == "stuck_relay" and a.present for a in self.alarms.of(item.name)
            ):
                # too little output-0 history to judge (just restarted, or a run just
                # ended): not knowing is not "gone", the alarm may not start to clear
                found["stuck_relay"] = "not judged yet"
            hot = above_rating(pv, item.max_temp_c)
            if hot is not None:
                found["over_temperature"] = f"{hot} (output {reading.output_pct:.0f} %)"
        else:
            stuck_on = current_with_output_off(reading, item.max_current_a)
            if stuck_on is not None:
                found["output_stuck_on"] = stuck_on
        return found

    async def _act(self, item: _Watched, title: str) -> None:
        """Put the device safe again and cut the power where kilnctl can."""
        problem = await make_safe(item.device, f"watch: {title}")
        what = await cut_power(item.contactor, f"{'kiln' if item.idle else 'tank'} {item.name}")
        if problem is not None:
            what = f"could not make it safe ({problem}); {what}"
        self._emit(Notice(self.run_id, self.clock.wall_time(), item.name, "cut_power", what))


def reading_values(reading: Any, t: float) -> dict[str, Any]:
    """A controller's or rectifier's reading as the run samples name its values, at `t`;
    a kiln's with `"sensor_break": True` when the controller flags a sensor break or an
    over-range input (its PV is then no temperature)."""
    if hasattr(reading, "pv_c"):
        values = {"t": t, "pv_c": reading.pv_c, "sp_c": reading.sp_c}
        values["out_pct"] = reading.output_pct
        # on a sensor break the controller shows its range limit (1372 °C for type K) as
        # PV: the flag goes along so that no screen shows that number as the kiln's heat
        if getattr(reading, "sensor_break", False) or getattr(reading, "over_range", False):
            values["sensor_break"] = True
        return values
    return {
        "t": t,
        "volts": reading.volts,
        "amps": reading.amps,
        "amp_hours": reading.amp_hours,
        "output_on": reading.output_on,
    }


def above_rating(pv_c: float, max_temp_c: float | None) -> str | None:
    """Why a kiln's PV is over its rated maximum, or None."""
    if max_temp_c is None or pv_c <= max_temp_c:
        return None
    return f"PV {pv_c:.1f} °C above the kiln's rating of {max_temp_c:.0f} °C"


def current_with_output_off(reading: Any, max_current_a: float | None) -> str | None:
    """Why a rectifier's output stage looks stuck on (current with the output off), or
    None. `reading`: a RectifierReading."""
    limit = max(STUCK_ON_MIN_A, STUCK_ON_FRAC * (max_current_a or 0.0))
    if reading.output_on or reading.amps <= limit:
        return None
    return f"{reading.amps:.2f} A with the output off"


def _watched(plant: Any, devices: Mapping[str, object]) -> list[_Watched]:
    """The kilns, tanks and bath heaters whose devices are open, in the plant config's
    order (kilns, then each tank's rectifier and heater)."""
    items: list[_Watched] = []
    for name, kiln in (getattr(plant, "kilns", {}) or {}).items():
        device = devices.get(kiln.controller)
        if device is not None:
            items.append(
                _Watched(
                    name,
                    kiln.controller,
                    device,
                    KILN_WATCH_CODES,
                    max_temp_c=getattr(kiln, "max_temp_c", None),
                    contactor=contactor_of(kiln, devices),
                    idle=_IdleWindow(),
                )
            )
    for name, tank in (getattr(plant, "tanks", {}) or {}).items():
        device = devices.get(tank.rectifier)
        # several tanks may share one rectifier (a line): watch it once
        if device is not None and all(i.device is not device for i in items):
            items.append(
                _Watched(
                    name,
                    tank.rectifier,
                    device,
                    TANK_WATCH_CODES,
                    max_current_a=getattr(tank, "max_current_a", None),
                )
            )
        heater_name = getattr(tank, "heater", None)
        heater = devices.get(heater_name) if heater_name else None
        if heater is not None and all(i.device is not heater for i in items):
            items.append(_Watched(name, str(heater_name), heater, ()))
    return items
