"""A job's kiln and tank roles put on other units of the plant at start ("start" with
kilns/tanks: {name in the recipe: plant unit}; kilnctl.engine.units): the run drives the
chosen units, and a role or unit that does not fit is refused naming what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from svc_plant import BAKE, FLASH, Library, running_service

from kilnctl.recipes.models import Job
from kilnctl.service.client import RequestFailed, ServiceClient

FLASH9 = FLASH.model_copy(
    update={
        "name": "flash9",
        "steps": [st.model_copy(update={"tank": "gold_line_2"}) for st in FLASH.steps],
    }
)
ELSEWHERE = Job.model_validate(
    {
        "name": "elsewhere",
        "lot": {"material": "brass", "pin_count": 25, "area_per_pin": "0.12 dm2"},
        "steps": [
            {"kind": "firing", "ref": "bake", "kiln": "kiln9"},
            {"kind": "plating", "ref": "flash9"},
        ],
    }
)
"""Written for another plant's kiln9 and gold_line_2: this plant has k1 and gold."""


async def request(socket: Path, op: str, **args: Any) -> dict[str, Any]:
    client = await ServiceClient.connect(socket)
    try:
        return await client.request(op, **args)
    finally:
        await client.close()


async def test_roles_put_on_chosen_units_drive_them(tmp_path: Path) -> None:
    library = Library(BAKE, FLASH9, ELSEWHERE)
    async with running_service(tmp_path, library=library) as h:
        with pytest.raises(RequestFailed, match="kiln 'kiln9' is not in the plant config"):
            await request(h.socket, "start", job="elsewhere", lot="U1")
        detail = await request(h.socket, "recipe", name="elsewhere")
        assert detail["roles"] == [
            {"kind": "kiln", "role": "kiln9"},
            {"kind": "tank", "role": "gold_line_2"},
        ]
        reply = await request(
            h.socket, "start", job="elsewhere", lot="U1",
            kilns={"kiln9": "k1"}, tanks={"gold_line_2": "gold"},
        )  # fmt: skip
        handle = h.engine.runs[reply["run"]]
        assert handle.devices == {"k1", "au"}  # the kiln's controller, the tank's rectifier
        (info,) = h.journal.runs()
        assert info.meta["kilns"] == {"kiln9": "k1"}
        assert info.meta["tanks"] == {"gold_line_2": "gold"}


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        ({"kilns": {"kiln9": "gold"}}, "kiln 'kiln9' -> 'gold': not a kiln of the plant config "
         "(allowed: k1)"),
        ({"kilns": {"k7": "k1"}}, "kiln 'k7' is not a kiln of this job (kilns: 'kiln9')"),
        ({"tanks": {"gold_line_2": "k1"}}, "not a tank of the plant config (allowed: gold)"),
        ({"kilns": "k1"}, '"kilns" must map names in the recipe to plant units'),
    ],
)  # fmt: skip
async def test_an_assignment_that_does_not_fit_is_refused(
    tmp_path: Path, args: dict[str, Any], refusal: str
) -> None:
    async with running_service(tmp_path, library=Library(BAKE, FLASH9, ELSEWHERE)) as h:
        with pytest.raises(RequestFailed) as exc:
            await request(h.socket, "start", job="elsewhere", lot="U2", **args)
        assert refusal in str(exc.value)
        assert h.engine.runs == {}


async def test_a_bare_profile_goes_on_the_chosen_kiln(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        reply = await request(h.socket, "start", job="bake", lot="U3", kilns={"": "k1"})
        assert h.engine.runs[reply["run"]].devices == {"k1"}


async def test_the_preflight_checks_the_chosen_units_limits(tmp_path: Path) -> None:
    """50 pins of 0.12 dm² at 1.2 A/dm² need 7.2 A: over the gold tank's 5 A rectifier."""
    big = ELSEWHERE.model_copy(
        update={"lot": ELSEWHERE.lot.model_copy(update={"pin_count": 50})}
    )
    async with running_service(tmp_path, library=Library(BAKE, FLASH9, big)) as h:
        with pytest.raises(RequestFailed) as exc:
            await request(
                h.socket, "start", job="elsewhere", lot="U4",
                kilns={"kiln9": "k1"}, tanks={"gold_line_2": "gold"},
            )  # fmt: skip
        assert "refused before any device was written" in str(exc.value)
        assert "needs 7.2 A, above tank gold's rectifier (allowed: <= 5 A" in str(exc.value)
        assert h.engine.runs == {}
        assert h.journal.runs() == []  # refused before the journal record
