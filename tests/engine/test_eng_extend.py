"""Extending a hold: a value that would make the hold never end is refused for every client
(a breaker's `kilnctl extend nan` held a kiln at 790 °C until someone aborted)."""

from __future__ import annotations

import math

import pytest
from test_eng_job import make_engine

from kilnctl.clock import VirtualClock
from kilnctl.engine.engine import MAX_EXTEND_S, EngineError
from kilnctl.engine.messages import Abort, ExtendHold, StartJob


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -60.0, 0.0, MAX_EXTEND_S + 1, 1e12])
async def test_an_extend_that_could_keep_a_kiln_hot_for_ever_is_refused(seconds: float) -> None:
    clock = VirtualClock()
    engine, _ = make_engine(clock)
    run_id = await engine.submit(StartJob(ref="coat", kiln="k1"))
    assert run_id is not None
    with pytest.raises(EngineError, match=r"extend: .* is not allowed"):
        await engine.submit(ExtendHold(run_id, who="test", seconds=seconds))
    await engine.submit(ExtendHold(run_id, who="test", seconds=60.0))  # a minute is fine
    await engine.submit(Abort(run_id, who="test", reason="done"))
    assert await engine.wait(run_id) == "aborted"
    await engine.close()
