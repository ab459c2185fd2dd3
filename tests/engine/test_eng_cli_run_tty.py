"""`kilnctl run` on a real terminal (a pty that is the process's controlling terminal, so
Ctrl-C is the tty's ^C), against the simulated kiln over Modbus TCP: the Ctrl-C question
stays readable until answered while the run goes on, a second ^C shows it again instead of
stacking a second question, an answer that is not a choice asks again, and `p` pauses, `r`
resumes, `a` aborts (read from the journal, the kiln's output read back at 0)."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from eng_procs import simulated_plant, write_config

from drivers.registry import open_device
from kilnctl.cli.terminal import match_choice
from kilnctl.journal import Journal

# the child makes the pty its controlling terminal, then becomes kilnctl
TRAMPOLINE = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'kilnctl.cli.main', *sys.argv[1:]])"
)
STATUS = "\rkiln2: PV"
ASK = "^C: [p]ause, [a]bort, or [c]ontinue? "
PAUSED = "paused: [r]esume or [a]bort? "


class Tty:
    """kilnctl on a pty: what it drew so far, and keys typed at it."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", TRAMPOLINE, *args],
            stdin=slave, stdout=slave, stderr=slave, cwd=tmp, start_new_session=True,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )  # fmt: skip
        os.close(slave)
        self.screen = ""
        self._more = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.master, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
        self.screen += data.decode(errors="replace")
        self._more.set()

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    async def shows(self, text: str, after: int = 0) -> int:
        """Wait until `text` is drawn at or after offset `after`; where it starts."""
        async with asyncio.timeout(20):
            while (at := self.screen.find(text, after)) < 0:
                self._more.clear()
                await self._more.wait()
        return at

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


async def journal_says(path: Path, check: Callable[[Journal, str], bool]) -> None:
    """Poll the run's journal (another process writes it) until `check` holds."""
    async with asyncio.timeout(20):
        while True:
            with Journal(path) as journal:
                runs = journal.runs()
                if runs and check(journal, runs[0].run_id):
                    return
            await asyncio.sleep(0.05)  # polling another process; no time passes here


def checkpoint_t(journal: Journal, run_id: str) -> float:
    checkpoint = journal.last_checkpoint(run_id)
    return checkpoint[0] if checkpoint is not None else 0.0


async def control_periods_pass(path: Path, periods: int) -> None:
    """Wait until the run has checkpointed `periods` (1 s) control periods later than now."""
    with Journal(path) as journal:
        t0 = checkpoint_t(journal, journal.runs()[0].run_id)
    await journal_says(path, lambda j, run: checkpoint_t(j, run) >= t0 + periods)


def operator_actions(journal: Journal, run_id: str) -> list[str]:
    return [e.data["action"] for e in journal.events(run_id) if e.kind == "operator"]


def assert_still_asking(tty: Tty, question: str, since: int) -> None:
    """Since `since`, no status line was drawn, and the question is the last thing shown."""
    drawn = tty.screen[since:]
    assert STATUS not in drawn, repr(drawn[-300:])
    assert drawn.endswith(question), repr(drawn[-300:])


async def test_ctrl_c_question_stays_readable_and_each_answer_does_what_it_says(
    tmp_path: Path,
) -> None:
    async with simulated_plant(tmp_path) as urls:
        write_config(tmp_path, {"kiln2": ("omron_e5cc", urls["kiln2"])}, ["kiln2"])
        journal = tmp_path / "journal.sqlite"
        tty = Tty(tmp_path, "run", "hold-790", "--kiln", "kiln2", "--lot", "T", "--speed", "60")
        try:
            await tty.shows(STATUS)
            tty.type("\x03")  # Ctrl-C at the terminal
            asked = await tty.shows(ASK)
            tty.type("\x03")  # again, as one does when nothing seems to happen
            await tty.shows(ASK, asked + len(ASK))  # the same question, shown again
            await control_periods_pass(journal, 60)  # a minute of control steps meanwhile
            assert_still_asking(tty, ASK, asked)

            tty.type("r\n")  # not an answer to this question: asked again, nothing aborted
            await tty.shows("please answer pause, abort or continue. " + ASK, asked)
            tty.type("p\n")
            await journal_says(journal, lambda j, run: operator_actions(j, run) == ["pause"])
            paused = await tty.shows(PAUSED, asked)
            await control_periods_pass(journal, 60)
            assert_still_asking(tty, PAUSED, paused)

            tty.type("r\n")
            await journal_says(
                journal, lambda j, run: operator_actions(j, run) == ["pause", "resume"]
            )
            await tty.shows(STATUS, paused)  # the live status line is back
            with Journal(journal) as j:
                assert [r.outcome for r in j.runs()] == [None]  # still firing

            tty.type("\x03")
            asked = await tty.shows(ASK, paused)
            tty.type("a\n")
            await tty.shows("aborted after", asked)
            async with asyncio.timeout(20):
                assert await asyncio.to_thread(tty.proc.wait) == 1
            with Journal(journal) as j:
                (run,) = j.runs()
                assert run.outcome == "aborted"
                assert operator_actions(j, run.run_id) == ["pause", "resume", "abort"]
            kiln = open_device("kiln2", "omron_e5cc", urls["kiln2"])
            try:
                assert (await kiln.read()).output_pct == 0.0  # type: ignore[union-attr]
            finally:
                await kiln.close()
        finally:
            tty.close()


def test_an_answer_is_a_choice_typed_whole_or_by_a_unique_prefix() -> None:
    choices = ("pause", "abort", "continue")
    assert [match_choice(t, choices) for t in ("p", " Pause\n", "c", "abort")] == [
        "pause",
        "pause",
        "continue",
        "abort",
    ]
    for not_an_answer in ("r", "", "x", "pausex"):
        assert match_choice(not_an_answer, choices) is None
    assert match_choice("", ("ok", "abort"), default="ok") == "ok"  # a prompt's Enter
    assert match_choice("a", ("again", "abort")) is None  # ambiguous: asked again
