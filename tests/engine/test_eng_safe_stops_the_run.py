"""`kilnctl safe kiln2` with no service, while a `kilnctl run` in another process drives
kiln2: the run is stopped first (SIGTERM: it aborts and makes its devices safe), then the
kiln is claimed and confirmed safe. Before, `safe` reported "confirmed" while the run went
on writing setpoints and the kiln kept heating (found by a breaker)."""

from __future__ import annotations

from pathlib import Path

from eng_procs import finish, kilnctl, next_event, simulated_plant, stop, write_config
from test_eng_claims import SPEED, setpoint_c


async def test_safe_stops_the_run_driving_the_kiln_then_confirms(tmp_path: Path) -> None:
    async with simulated_plant(tmp_path) as urls:
        url = urls["kiln2"]  # the Omron E5CC over Modbus TCP
        write_config(tmp_path, {"kiln2": ("omron_e5cc", url)}, ["kiln2"])
        run = await kilnctl(tmp_path, "run", "hold-790", "--kiln", "kiln2", "--lot", "S",
                            "--json", *SPEED)  # fmt: skip
        try:
            await next_event(run, "run_started")
            await next_event(run, "sample")
            assert await setpoint_c(url) == 790.0
            safe = await finish(await kilnctl(tmp_path, "safe", "kiln2", *SPEED), 60)
            assert safe.returncode == 0, safe.err
            assert f"held by kilnctl run (pid {run.pid}" in safe.err and "stopping it" in safe.err
            ended = await finish(run, 30)
            outcomes = [e["outcome"] for e in ended.events() if e["kind"] == "run_finished"]
            assert outcomes == ["aborted"]  # the run ended: it writes no setpoint any more
            assert await setpoint_c(url) == 0.0  # read back by a third process
        finally:
            await stop(run)
