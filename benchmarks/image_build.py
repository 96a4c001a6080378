#!/usr/bin/env python
"""What does building an environment image cost, and what does the layer layout buy?

Three builds of one environment with ``isolationctl env build NAME --target image``, timed:

* ``cold``: a fresh build path (empty wheelhouse: resolve, download every wheel, build every
  layer above the base image);
* ``no change``: the same definition again, which must not build at all;
* ``one requirement``: one requirement added, which must reuse the apt and venv layers and
  download one more wheel.

Side by side in the same run, the baseline a user writes by hand with the same wheels: a
Dockerfile that ``COPY``s the wheelhouse and ``pip install``s from it (the usual offline
recipe), built cold and again with the added requirement. Printed: times, ratios to the
baseline, and the image size above the base image (wheels copied into a layer stay in the image
even when deleted later; this project's builds fetch them over a local HTTP server instead).

Nothing is asserted; the machine is shared and noisy, so read ratios, not absolute seconds. Every
image and folder the script creates is removed at the end.

Run: ``python benchmarks/image_build.py --base-image isolation-base:bookworm`` on a host with a
Docker engine and ``isolationctl`` installed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import docker.errors

from airflow_isolation.workspace.environment import read_image_manifest

DEFAULT_REQUIREMENTS = ["apache-airflow==2.10.5", "apache-airflow-providers-standard", "pandas<2", "numpy<2"]
ADDED_REQUIREMENT = "tabulate==0.9.0"
NAME = "imagebench"


def isolationctl() -> str:
    local = Path(sys.executable).parent / "isolationctl"
    return str(local) if local.exists() else (shutil.which("isolationctl") or "isolationctl")


def write_definition(environments: Path, python: str, requirements: list[str]) -> None:
    folder = environments / NAME
    folder.mkdir(parents=True, exist_ok=True)
    quoted = ", ".join(f'"{requirement}"' for requirement in requirements)
    (folder / "environment.toml").write_text(f'python = "{python}"\nrequirements = [{quoted}]\n')


def timed_build(environments: Path, build_path: Path, base_image: str) -> float:
    command = [isolationctl(), "env", "build", NAME, "--target", "image", "--base-image", base_image,
               "--path", str(environments), "--build-path", str(build_path)]  # fmt: skip
    began = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"isolationctl failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def image_size(client: docker.DockerClient, reference: str) -> int:
    return int(client.images.get(reference).attrs["Size"])


NAIVE_DOCKERFILE = """\
FROM {base}
COPY wheels/ /wheels/
COPY requirements.txt /requirements.txt
RUN python3 -m venv --without-pip /venv \\
 && /venv/bin/python /wheels/{pip_wheel}/pip install --no-cache-dir --no-index --find-links /wheels \\
    -r /requirements.txt \\
 && rm -rf /wheels
"""


def naive_build(
    client: docker.DockerClient, wheelhouse: Path, base: str, *, requirements: list[str], tag: str, work: Path
) -> float:
    """The hand-written offline recipe, from the very wheels the CLI downloaded."""
    context = work / "naive-context"
    if context.exists():
        shutil.rmtree(context)
    (context / "wheels").mkdir(parents=True)
    for wheel in wheelhouse.rglob("*.whl"):
        shutil.copy2(wheel, context / "wheels" / wheel.name)
    pip_wheel = sorted(p.name for p in (context / "wheels").glob("pip-*.whl"))
    if not pip_wheel:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(context / "wheels"),
                "pip",
            ],
            check=True,
        )
        pip_wheel = sorted(p.name for p in (context / "wheels").glob("pip-*.whl"))
    (context / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (context / "Dockerfile").write_text(NAIVE_DOCKERFILE.format(base=base, pip_wheel=pip_wheel[-1]))
    began = time.perf_counter()
    for line in client.api.build(path=str(context), tag=tag, rm=True, forcerm=True, decode=True):
        if "errorDetail" in line:
            raise SystemExit(f"baseline build failed: {line['errorDetail']}")
    return time.perf_counter() - began


def row(label: str, ours: float, baseline: float) -> None:
    print(f"{label:32}{ours:14.1f}{baseline:20.1f}{ours / baseline:8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-image", default="isolation-base:bookworm")
    parser.add_argument("--python", default="3.11", help="the base image's Python X.Y")
    parser.add_argument("--requirement", action="append", help="repeat; default: the example environment's")
    parser.add_argument("--keep", action="store_true", help="keep the images and work folder")
    args = parser.parse_args()
    requirements = args.requirement or DEFAULT_REQUIREMENTS
    client = docker.from_env(timeout=600)
    work = Path(tempfile.mkdtemp(prefix="isolation-image-bench-"))
    environments, build_path = work / "environments", work / "build"
    os.environ.pop("AIRFLOW__ISOLATION__SETTINGS_FILE", None)
    created: list[str] = []
    try:
        write_definition(environments, args.python, requirements)
        cold = timed_build(environments, build_path, args.base_image)
        unchanged = timed_build(environments, build_path, args.base_image)
        manifest_cold = read_image_manifest(build_path, NAME)
        assert manifest_cold is not None
        created.append(manifest_cold.image)
        write_definition(environments, args.python, [*requirements, ADDED_REQUIREMENT])
        one_more = timed_build(environments, build_path, args.base_image)
        manifest = read_image_manifest(build_path, NAME)
        assert manifest is not None
        created.append(manifest.image)

        wheelhouse = build_path / "wheelhouse"
        naive_cold = naive_build(
            client,
            wheelhouse,
            args.base_image,
            requirements=requirements,
            tag="imagebench-naive:1",
            work=work,
        )
        created.append("imagebench-naive:1")
        naive_one_more = naive_build(
            client,
            wheelhouse,
            args.base_image,
            requirements=[*requirements, ADDED_REQUIREMENT],
            tag="imagebench-naive:2",
            work=work,
        )
        created.append("imagebench-naive:2")

        base = image_size(client, args.base_image)
        ours = image_size(client, manifest.image) - base
        naive = image_size(client, "imagebench-naive:2") - base
        mib = 1024 * 1024
        print(f"environment: {', '.join(requirements)} (+ {ADDED_REQUIREMENT}); base {args.base_image}")
        print(f"{'':32}{'isolationctl':>14}{'COPY wheels + pip':>20}{'ratio':>8}")
        row("cold build (s)", cold, naive_cold)
        print(f"{'no-change rebuild (s)':32}{unchanged:14.1f}{'(rebuilds)':>20}")
        row("one-requirement rebuild (s)", one_more, naive_one_more)
        row("size above base (MiB)", ours / mib, naive / mib)
        print(f"no-change / cold: {unchanged / cold:.3f}; one-requirement / cold: {one_more / cold:.2f}")
        print("cold for isolationctl includes resolving and downloading every wheel; the baseline starts")
        print("from the wheelhouse isolationctl filled, so its cold time excludes both.")
    finally:
        if not args.keep:
            for reference in created:
                with contextlib.suppress(docker.errors.DockerException):
                    client.images.remove(reference, force=True)
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
