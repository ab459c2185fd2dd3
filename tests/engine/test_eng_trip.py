"""The absolute over-temperature trip of a firing is the lower of the profile's trip and
the kiln's rated maximum (engine on the virtual clock, in-process kiln)."""

from __future__ import annotations

from eng_models import TinyKiln, plant

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import Engine
from kilnctl.engine.messages import AlarmRaised, StartJob
from kilnctl.recipes.models import FiringProfile


async def test_a_profile_trip_above_the_kilns_rating_does_not_lift_the_trip() -> None:
    clock = VirtualClock()
    kiln = TinyKiln("ctl", clock.now)
    eng = Engine(
        {"ctl": kiln},
        plant({"k1": {"controller": "ctl", "max_temp_c": 900.0}}),
        None,
        None,
        clock,
    )
    # written for a 1100 °C kiln: trip 1050 °C; this kiln is rated 900 °C
    prof = FiringProfile.model_validate(
        {
            "name": "p",
            "max_temp": 1000,
            "trip": 1050,
            # a long soak, not a coat: its own limits replace the vitreous enamel defaults
            "segments": [
                {"rate": None, "target": 890, "hold": 3600, "warn_hold": 7200, "max_hold": 7200}
            ],
        }
    )
    q = eng.subscribe(maxsize=100_000)
    run_id = await eng.submit(StartJob(ref="p", kiln="k1", recipe=prof))
    assert run_id is not None
    await clock.sleep(1800)
    kiln.set_pv(910.0)  # within the deviation and hold bands of 890 °C, above the rating
    assert await eng.wait(run_id) == "aborted"
    codes = []
    while not q.empty():
        event = q.get_nowait()
        if isinstance(event, AlarmRaised):
            codes.append(event.code)
    assert "over_temperature" in codes and kiln.is_safe
