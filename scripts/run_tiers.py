"""``hatch run test``: the whole suite tier by tier, or plain pytest with the arguments given.

Without arguments (the README's command, which ``.ci/run`` runs) the suite runs as two pytest
processes, so that the fast tests are not held up by the slow ones:

- unit: the package tests outside any ``real/`` folder. They need nothing but this environment, so
  they run on every core (pytest-xdist).
- real: the package tests in ``real/`` folders and ``integration-tests``. They share one Docker
  engine, one registry, one cluster and the environments built under one build path (a test may
  remove an image another one built, and a session ends by stopping the warm runtimes under its
  build path), so they run one at a time.

Each tier prints its own pytest report (``--durations`` names the slowest tests); a tier that
collects nothing (pytest's exit 5) is not a failure. The run fails when either tier fails, and ends
with both tiers' totals in pytest's closing-line format.

With arguments it is pytest with exactly those arguments: ``hatch run test path/to/test_x.py -x``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parent.parent
NO_TESTS_COLLECTED = 5
"""pytest's exit status when a selection holds no test."""
TALLY_VARIABLE = "ISOLATION_TEST_TALLY"
"""Where the root conftest writes a tier's counts (what pytest's closing line says) for the totals."""
STAGES_VARIABLE = "ISOLATION_TEST_STAGES"
"""Where ``.ci/run`` collects the tiers' times for its table of stage durations."""
ORDER = ("failed", "passed", "skipped", "deselected", "xfailed", "xpassed", "warnings", "errors")
"""The order of pytest's closing line."""


@dataclass
class Tier:
    name: str
    args: List[str]
    status: int = 0
    seconds: float = 0.0
    counts: Dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status not in (0, NO_TESTS_COLLECTED)


def unit_tier() -> Tier:
    tests = [str(path.relative_to(REPO)) for path in sorted(REPO.glob("packages/*/tests"))]
    parallel = ["-n", "auto", "--dist", "loadgroup"]
    return Tier("unit", [*tests, "--ignore-glob=*/real", *parallel, "--durations=15"])


def real_tier() -> Tier:
    real = sorted(path for path in REPO.glob("packages/*/tests/**/real") if path.is_dir())
    paths = [str(path.relative_to(REPO)) for path in real] + ["integration-tests"]
    return Tier("real", [*paths, "--durations=30"])


def run(tier: Tier) -> None:
    """Run one tier's pytest in the foreground; record its exit status, time and counts."""
    print(f"\n>>> hatch run test: the {tier.name} tier: pytest {' '.join(tier.args)}", flush=True)
    with tempfile.TemporaryDirectory(prefix=f"isolation-tier-{tier.name}-") as folder:
        tally = Path(folder) / "tally.json"
        env = {**os.environ, TALLY_VARIABLE: str(tally)}
        began = time.monotonic()
        tier.status = subprocess.call([sys.executable, "-m", "pytest", *tier.args], cwd=REPO, env=env)
        tier.seconds = time.monotonic() - began
        if tally.exists():
            tier.counts = json.loads(tally.read_text())


def closing_line(tiers: List[Tier]) -> str:
    """Every tier's counts added up, as pytest words its own closing line."""
    totals: Dict[str, int] = {}
    for tier in tiers:
        for kind, count in tier.counts.items():
            totals[kind] = totals.get(kind, 0) + count
    kinds = [kind for kind in ORDER if totals.get(kind)] + sorted(set(totals) - set(ORDER))
    parts = [f"{totals[kind]} {singular(kind) if totals[kind] == 1 else kind}" for kind in kinds]
    seconds = sum(tier.seconds for tier in tiers)
    per_tier = ", ".join(f"{tier.name} {tier.seconds:.0f}s" for tier in tiers)
    return f"{', '.join(parts) or 'no tests ran'} in {seconds:.2f}s ({per_tier})"


def singular(kind: str) -> str:
    return {"warnings": "warning", "errors": "error"}.get(kind, kind)


def main(args: List[str]) -> int:
    if args:
        os.execv(sys.executable, [sys.executable, "-m", "pytest", *args])
    tiers = [unit_tier(), real_tier()]
    for tier in tiers:
        run(tier)
    stages = os.environ.get(STAGES_VARIABLE)
    if stages:
        with open(stages, "a") as out:
            out.writelines(f"{tier.name} {tier.seconds:.0f}\n" for tier in tiers)
    line = closing_line(tiers)
    print(f"\n{f' all tiers: {line} '.center(100, '=')}")
    failed = [f"{tier.name} (pytest exit {tier.status})" for tier in tiers if tier.failed]
    if failed:
        print(f"failed tiers: {', '.join(failed)}", file=sys.stderr)
        return 1
    return NO_TESTS_COLLECTED if all(tier.status == NO_TESTS_COLLECTED for tier in tiers) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
