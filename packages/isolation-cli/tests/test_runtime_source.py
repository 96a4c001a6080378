"""What goes into a target: core and runtime only, from wheels, a source tree or the index."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

import airflow_isolation.cli.builds.runtime_source as runtime_source_module
from airflow_isolation.cli.builds.runtime_source import (
    CORE_DIST,
    RUNTIME_DIST,
    find_runtime_source,
    index_source,
    local_source,
    monorepo_root,
)
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.runtime_wheels import build_runtime_wheels
from airflow_isolation.core.__about__ import __version__ as core_version


def test_runtime_source_from_env_var(runtime_source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(runtime_source))
    source = find_runtime_source()

    assert source.kind == "local"
    assert source.version.startswith("local-")
    assert source.install_args == (
        str(runtime_source / "isolation-core"),
        str(runtime_source / "isolation-runtime"),
    )
    assert "msgspec>=0.18.6" in source.requirements
    assert not any(requirement.startswith("airflow-isolation") for requirement in source.requirements)

    (
        runtime_source / "isolation-runtime" / "src" / "airflow_isolation" / "runtime" / "__init__.py"
    ).write_text("B=1\n")
    assert find_runtime_source().version != source.version


def test_runtime_source_env_var_must_hold_both_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(tmp_path))

    with pytest.raises(CliError, match=r"does not contain isolation-core/pyproject\.toml"):
        find_runtime_source()


def test_monorepo_root_is_found_by_walking_up(runtime_source: Path, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "packages").mkdir(parents=True)
    for name in ("isolation-core", "isolation-runtime"):
        (runtime_source / name).rename(checkout / "packages" / name)
    cli = checkout / "packages" / "isolation-cli" / "src" / "airflow_isolation" / "cli"
    module = cli / "builds" / "runtime_source.py"

    assert monorepo_root(module) == checkout / "packages"
    assert monorepo_root(tmp_path / "site-packages" / "airflow_isolation" / "cli" / "x.py") is None


def test_index_source_pins_the_host_core_version() -> None:
    source = index_source()

    assert source.kind == "index"
    assert source.version == core_version
    assert source.install_args == (f"{CORE_DIST}=={core_version}", f"{RUNTIME_DIST}=={core_version}")
    assert source.refresh_args == ()
    assert "msgspec>=0.18.6" in source.requirements


REPO_PACKAGES = Path(__file__).resolve().parents[2]
TARGET_PACKAGES = ("isolation-core", "isolation-runtime")
HOST_ONLY_PACKAGES = ("isolation-workspace", "isolation-cli", "isolation-operator")


def _copy_sources(destination: Path, names: tuple[str, ...]) -> None:
    for name in names:
        for part in ("pyproject.toml", "README.md", "src"):
            source = REPO_PACKAGES / name / part
            if source.is_dir():
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(source, destination / name / part, ignore=ignore)
            else:
                (destination / name).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination / name / part)


def _touch_first_module(package: Path) -> None:
    module = sorted((package / "src").rglob("*.py"))[0]
    module.write_text(module.read_text() + "\n# edited\n")


def test_a_checkout_installs_only_core_and_runtime_into_targets() -> None:
    source = find_runtime_source()

    assert source.kind == "local", "the tests run from the monorepo checkout"
    assert source.install_args == tuple(str(REPO_PACKAGES / name) for name in TARGET_PACKAGES)


def test_host_only_packages_do_not_enter_the_content_hash(tmp_path: Path) -> None:
    """Editing the workspace, the CLI or the operator must not rebuild any venv or image."""
    _copy_sources(tmp_path, TARGET_PACKAGES + HOST_ONLY_PACKAGES)
    version = local_source(tmp_path, "test").version

    for name in HOST_ONLY_PACKAGES:
        _touch_first_module(tmp_path / name)
    assert local_source(tmp_path, "test").version == version

    _touch_first_module(tmp_path / "isolation-core")
    assert local_source(tmp_path, "test").version != version


def test_installed_core_and_runtime_do_not_require_host_packages() -> None:
    host_only = re.compile(r"airflow[-_.]isolation[-_.](workspace|cli|operator)")
    for dist in (CORE_DIST, RUNTIME_DIST):
        requires = importlib.metadata.requires(dist) or []
        assert not [req for req in requires if host_only.match(req)]


def test_target_wheels_hold_only_core_and_runtime_modules(tmp_path: Path) -> None:
    _copy_sources(tmp_path / "src", TARGET_PACKAGES)
    wheels = build_runtime_wheels(local_source(tmp_path / "src", "test"), tmp_path / "wheels")

    assert sorted(parse_wheel_filename(wheel.name)[0] for wheel in wheels) == [CORE_DIST, RUNTIME_DIST]
    modules = set()
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            modules |= {name.split("/")[1] for name in names if name.startswith("airflow_isolation/")}
    assert modules == {"core", "runtime"}


def _wheel_folder(runtime_source: Path, folder: Path) -> Path:
    build_runtime_wheels(local_source(runtime_source, "test"), folder)
    return folder


def test_a_folder_of_wheels_is_installed_as_files(
    runtime_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = _wheel_folder(runtime_source, tmp_path / "wheels")
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(wheels))
    source = find_runtime_source()

    assert source.kind == "wheels"
    names = [parse_wheel_filename(Path(arg).name)[0] for arg in source.install_args]
    assert names == [CORE_DIST, RUNTIME_DIST]
    assert all(Path(arg).is_file() for arg in source.install_args)
    assert source.version.startswith("0.1.0+wheels.")
    assert "msgspec>=0.18.6" in source.requirements
    assert not any(requirement.startswith("airflow-isolation") for requirement in source.requirements)
    assert source.refresh_args == (), "uv refuses --refresh when offline"
    assert find_runtime_source().version == source.version, "same wheels, same content hash"

    copied = build_runtime_wheels(source, tmp_path / "copied")
    assert sorted(wheel.name for wheel in copied) == sorted(Path(arg).name for arg in source.install_args)

    runtime_wheel = Path(source.install_args[1])
    runtime_wheel.write_bytes(runtime_wheel.read_bytes() + b"\0")
    assert find_runtime_source().version != source.version


def test_a_checkout_root_is_accepted_for_its_packages_folder(
    runtime_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    runtime_source.rename(checkout / "packages")
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(checkout))

    assert find_runtime_source().install_args[0] == str(checkout / "packages" / "isolation-core")


def test_the_index_is_used_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", "index")
    assert find_runtime_source() == index_source()

    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", "http://mirror.example/simple")
    source = find_runtime_source()
    assert source.kind == "index"
    assert source.install_args[:2] == ("--index-url", "http://mirror.example/simple")
    assert source.install_args[2:] == index_source().install_args


def test_bundled_wheels_come_before_a_checkout(
    runtime_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ISOLATION_RUNTIME_SOURCE", raising=False)
    bundled = _wheel_folder(runtime_source, tmp_path / "bundled")
    monkeypatch.setattr(runtime_source_module, "BUNDLED_DIR", bundled)

    source = find_runtime_source()

    assert source.kind == "wheels"
    assert source.location.startswith(f"bundled wheels in {bundled}")


def test_no_source_at_all_is_an_error_naming_the_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ISOLATION_RUNTIME_SOURCE", raising=False)
    monkeypatch.setattr(runtime_source_module, "BUNDLED_DIR", tmp_path / "missing")
    monkeypatch.setattr(runtime_source_module, "monorepo_root", lambda: None)

    with pytest.raises(CliError, match="carries no bundled runtime wheels") as raised:
        find_runtime_source()
    assert "ISOLATION_RUNTIME_SOURCE" in (raised.value.hint or "")
    assert "hatch build -t wheel" in (raised.value.hint or "")


def test_the_cli_wheel_bundles_the_exact_core_and_runtime_wheels(tmp_path: Path) -> None:
    """hatch_build.py: what a user installs carries the runtime its targets need, also via an sdist."""
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    built = subprocess.run(
        ["uv", "build", "--out-dir", str(tmp_path), str(REPO_PACKAGES / "isolation-cli")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(next(tmp_path.glob("airflow_isolation_cli-*.whl"))) as archive:
        bundled = sorted(name.rsplit("/", 1)[1] for name in archive.namelist() if "/cli/bundled/" in name)
    assert [parse_wheel_filename(name)[0] for name in bundled] == [CORE_DIST, RUNTIME_DIST]
    assert all(name.endswith("-py3-none-any.whl") for name in bundled)
