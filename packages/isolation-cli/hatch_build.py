"""Bundle the exact ``airflow-isolation-core`` and ``-runtime`` wheels into this package's wheel.

``isolationctl env build`` installs core and runtime into every target venv and image; workers are
often air-gapped, so a released CLI carries them (``airflow_isolation/cli/bundled/``) instead of
asking an index. They are built from the sibling packages of the checkout; an sdist carries them
too (``bundled-runtime/``), so a wheel built from the sdist bundles the same files. Editable
installs bundle nothing: the CLI finds the checkout's sources itself.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.builders.wheel import WheelBuilder

SIBLINGS = ("isolation-core", "isolation-runtime")
IN_WHEEL = "airflow_isolation/cli/bundled"
IN_SDIST = "bundled-runtime"


class BundledRuntimeHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "editable":
            return
        root = Path(self.root)
        wheels = sorted((root / IN_SDIST).glob("*.whl")) or self._build_siblings(root.parent)
        destination = IN_WHEEL if self.target_name == "wheel" else IN_SDIST
        for wheel in wheels:
            build_data["force_include"][str(wheel)] = f"{destination}/{wheel.name}"

    def _build_siblings(self, packages: Path) -> list[Path]:
        missing = [name for name in SIBLINGS if not (packages / name / "pyproject.toml").is_file()]
        if missing:
            raise RuntimeError(
                f"cannot bundle the runtime into airflow-isolation-cli: {', '.join(missing)} not found "
                f"next to {self.root}. Build the CLI from the repository's packages/isolation-cli "
                f"(`hatch build -t wheel`), or from an sdist that carries {IN_SDIST}/"
            )
        self._scratch = Path(tempfile.mkdtemp(prefix="isolation-cli-bundle-"))
        wheels = []
        for name in SIBLINGS:
            builder = WheelBuilder(str(packages / name))
            wheels += [Path(p) for p in builder.build(directory=str(self._scratch), versions=["standard"])]
        return wheels

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
