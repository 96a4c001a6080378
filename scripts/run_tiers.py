"""``hatch run test``: the whole suite tier by tier, or plain pytest with the arguments given.

Without arguments (the README's command, which ``.ci/run`` runs) the suite runs as three pytest
processes, so that the fast tests are not held up by the slow ones:

- unit: the package tests outside any ``real/`` folder. They need nothing but this environment, so
  they run first, on every core (pytest-xdist).
- cluster: the integration tests marked ``cluster`` (integration-tests/conftest.py: they take the
  Kubernetes cluster's fixtures). They mostly wait for pods, so they run beside the real tier.
- real: the package tests in ``real/`` folders and the other integration tests. They share one
  Docker engine, one registry and the environments built under one build path (a test removes an
  image another one built; a session ends by stopping the warm runtimes under its build path), so
  they run one at a time.

Why the cluster tier cannot disturb the real tier, nor the other way round: it alone uses the
cluster's namespace (and the sweep of request Secrets there); it has an Airflow home of its own
(the root conftest makes one per process); its tasks run in pods only, so it starts no warm runtime
or standby container under the shared build path, and leaves those of the real tier alone at its
end (``ISOLATION_TEST_SHARED_BUILD_PATH``); it builds and pushes its images before the real tier
starts (``ISOLATION_TEST_CLUSTER_IMAGES_READY``), after which it uses only the registry, which
nothing empties, while the real tier's pull test removes a local image of the same environment.
Image builds it shares with the real tier meet under the build path's flock, as users' do.
``ISOLATION_TEST_CLUSTER_BESIDE=0`` runs the cluster tests inside the real tier instead.

Each tier prints its own pytest report (``--durations`` names the slowest tests; the cluster tier's
is printed when it ends, and is written meanwhile to the file named when it starts); a tier that
collects nothing (pytest's exit 5) is not a failure. The run fails when any tier fails, and ends
with all tiers' totals in pytest's closing-line format.

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
from typing import IO, Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent
NO_TESTS_COLLECTED = 5
"""pytest's exit status when a selection holds no test."""
TALLY_VARIABLE = "ISOLATION_TEST_TALLY"
"""Where the root conftest writes a tier's counts (what pytest's closing line says) for the totals."""
STAGES_VARIABLE = "ISOLATION_TEST_STAGES"
"""Where ``.ci/run`` collects the tiers' times for its table of stage durations."""
ORDER = ("failed", "passed", "skipped", "xfailed", "xpassed", "warnings", "errors")
"""The order of pytest's closing line ("deselected" is left out of the totals: the tiers select
from overlapping paths, so each counts what the others run)."""


@dataclass
class Tier:
    name: str
    args: List[str]
    env: Dict[str, str] = field(default_factory=dict)
    status: int = 0
    seconds: float = 0.0
    counts: Dict[str, int] = field(default_factory=dict)
    process: Optional[subprocess.Popen[bytes]] = None
    began: float = 0.0
    tally: Optional[Path] = None

    @property
    def failed(self) -> bool:
        return self.status not in (0, NO_TESTS_COLLECTED)

    def start(self, folder: Path, output: Optional[IO[bytes]] = None) -> None:
        print(f"\n>>> hatch run test: the {self.name} tier: pytest {' '.join(self.args)}", flush=True)
        self.tally = folder / f"{self.name}-tally.json"
        env = {**os.environ, **self.env, TALLY_VARIABLE: str(self.tally)}
        self.began = time.monotonic()
        command = [sys.executable, "-m", "pytest", *self.args]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=output)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait(self) -> None:
        assert self.process is not None and self.tally is not None
        self.status = self.process.wait()
        self.seconds = time.monotonic() - self.began
        if self.tally.exists():
            self.counts = json.loads(self.tally.read_text())

    def stop(self) -> None:
        """End it if it still runs (the run was interrupted, or another tier could not start)."""
        if self.running():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def unit_workers() -> int:
    """Two pytest-xdist workers per core, at most eight: the unit tests spend most of their time
    waiting for the processes and timers they start (a serial run keeps a third of one core busy)."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


def unit_tier() -> Tier:
    tests = [str(path.relative_to(REPO)) for path in sorted(REPO.glob("packages/*/tests"))]
    parallel = ["-n", str(unit_workers()), "--dist", "loadgroup"]
    return Tier("unit", [*tests, "--ignore-glob=*/real", *parallel, "--durations=15"])


def real_tier(without_cluster: bool) -> Tier:
    real = sorted(path for path in REPO.glob("packages/*/tests/**/real") if path.is_dir())
    paths = [str(path.relative_to(REPO)) for path in real] + ["integration-tests"]
    selection = ["-m", "not matrix and not cluster"] if without_cluster else []
    return Tier("real", [*paths, *selection, "--durations=30"])


def cluster_tier(images_ready: Path) -> Tier:
    env = {"ISOLATION_TEST_SHARED_BUILD_PATH": "1", "ISOLATION_TEST_CLUSTER_IMAGES_READY": str(images_ready)}
    return Tier("cluster", ["integration-tests", "-m", "cluster and not matrix", "--durations=15"], env)


def run_all(folder: Path) -> List[Tier]:
    """unit, then cluster and real side by side (see the module's docstring)."""
    beside = os.environ.get("ISOLATION_TEST_CLUSTER_BESIDE", "1") != "0"
    unit, real = unit_tier(), real_tier(without_cluster=beside)
    unit.start(folder)
    unit.wait()
    if not beside:
        real.start(folder)
        real.wait()
        return [unit, real]
    images_ready, log_path = folder / "cluster-images-ready", folder / "cluster.log"
    cluster = cluster_tier(images_ready)
    try:
        with open(log_path, "wb") as log:
            cluster.start(folder, output=log)
            print(f"(its report is written to {log_path} and printed when it ends)", flush=True)
            while cluster.running() and not images_ready.exists():
                time.sleep(1)
            real.start(folder)
            real.wait()
            cluster.wait()
    finally:
        real.stop()
        cluster.stop()
    print(f"\n>>> hatch run test: the cluster tier's report (pytest exit {cluster.status}):", flush=True)
    sys.stdout.buffer.write(log_path.read_bytes())
    sys.stdout.flush()
    return [unit, cluster, real]


def closing_line(tiers: List[Tier], seconds: float) -> str:
    """Every tier's counts added up, as pytest words its own closing line."""
    totals: Dict[str, int] = {}
    for tier in tiers:
        for kind, count in tier.counts.items():
            if kind != "deselected":
                totals[kind] = totals.get(kind, 0) + count
    kinds = [kind for kind in ORDER if totals.get(kind)] + sorted(set(totals) - set(ORDER))
    parts = [f"{totals[kind]} {singular(kind) if totals[kind] == 1 else kind}" for kind in kinds]
    per_tier = ", ".join(f"{tier.name} {tier.seconds:.0f}s" for tier in tiers)
    return f"{', '.join(parts) or 'no tests ran'} in {seconds:.2f}s ({per_tier})"


def singular(kind: str) -> str:
    return {"warnings": "warning", "errors": "error"}.get(kind, kind)


def main(args: List[str]) -> int:
    if args:
        os.execv(sys.executable, [sys.executable, "-m", "pytest", *args])
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="isolation-tiers-") as folder:
        tiers = run_all(Path(folder))
    stages = os.environ.get(STAGES_VARIABLE)
    if stages:
        with open(stages, "a") as out:
            out.writelines(f"{tier.name} {tier.seconds:.0f}\n" for tier in tiers)
    line = closing_line(tiers, time.monotonic() - began)
    print(f"\n{f' all tiers: {line} '.center(100, '=')}")
    failed = [f"{tier.name} (pytest exit {tier.status})" for tier in tiers if tier.failed]
    if failed:
        print(f"failed tiers: {', '.join(failed)}", file=sys.stderr)
        return 1
    return NO_TESTS_COLLECTED if all(tier.status == NO_TESTS_COLLECTED for tier in tiers) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
