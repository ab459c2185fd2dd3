"""Start-up time of `kilnctl --help` against a bare interpreter, in the same run.

Runs `python -m kilnctl --help` and `python -c pass` alternately (so load from other
processes hits both alike), ROUNDS times each, and compares the medians: the difference
is what kilnctl's own imports cost. Also times one ordinary command's help
(`kilnctl runs --help`), which loads only that command's module.
Target (issue 8): difference <= 0.3 s (it was 0.6-0.85 s with every command module and
the plant models imported for any command).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

ROUNDS = 15
TARGET_S = 0.3


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "kilnctl --help": [sys.executable, "-m", "kilnctl", "--help"],
        "kilnctl runs --help": [sys.executable, "-m", "kilnctl", "runs", "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, argv in cases.items():
            times[name].append(_time(argv))
    median = {name: statistics.median(t) for name, t in times.items()}
    bare = median["python -c pass"]
    for name, m in median.items():
        print(f"{name:<22} median {m * 1000:6.0f} ms  (min {min(times[name]) * 1000:.0f} ms)")
    for name in ("kilnctl --help", "kilnctl runs --help"):
        diff, ratio = median[name] - bare, median[name] / bare
        print(f"{name}: +{diff * 1000:.0f} ms over python -c pass, ratio {ratio:.2f}")
    cost = median["kilnctl --help"] - bare
    verdict = "ok" if cost <= TARGET_S else "OVER"
    print(f"kilnctl --help: +{cost * 1000:.0f} ms (target <= {TARGET_S * 1000:.0f} ms): {verdict}")
    return 0 if cost <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
