"""The environment contract between the CLI (writes) and the operator (reads)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from airflow_isolation.core import IsolationError
from airflow_isolation.workspace.environment import (
    BUILD_PATH_VAR,
    DEFINITION_FILE,
    ENVIRONMENTS_PATH_VAR,
    MANIFEST_FILE,
    BuildManifest,
    EnvironmentDefinition,
    IsolationEnvironmentError,
    default_build_path,
    definition_digest,
    definition_path,
    list_environment_names,
    load_definition,
    manifest_path,
    read_manifest,
    resolve_venv,
    validate_name,
)

DEFINITION = """\
python = "3.9"
requirements = ["pandas<2", "six==1.16.0"]
packages = ["./libs/mylib"]
description = "legacy pandas"
"""


@pytest.fixture
def envs(tmp_path: Path) -> Path:
    root = tmp_path / "environments"
    for name, text in {"pandas1": DEFINITION, "empty": "", "zeta": 'python = "3.12"\n'}.items():
        (root / name).mkdir(parents=True)
        (root / name / DEFINITION_FILE).write_text(text)
    (root / "not-an-env").mkdir()  # a folder without environment.toml is not listed
    (root / "stray.txt").write_text("x")
    return root


def _write_definition(envs: Path, name: str, text: str) -> None:
    (envs / name).mkdir(parents=True, exist_ok=True)
    (envs / name / DEFINITION_FILE).write_text(text)


# --- names and definitions --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pandas1", "a", "0", "my_env.v2-b", "x" * 63])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Pandas", "-x", ".hidden", "_x", "a/b", "../etc", "a b", "x" * 64, "é", 3, None]
)
def test_invalid_names(name: Any) -> None:
    with pytest.raises(IsolationEnvironmentError) as info:
        validate_name(name)
    message = str(info.value)
    assert repr(name) in message
    assert "lowercase letters, digits" in message
    assert "'pandas1'" in message  # an example of a good name
    assert isinstance(info.value, IsolationError)


def test_invalid_name_is_refused_before_touching_the_disk(envs: Path) -> None:
    with pytest.raises(IsolationEnvironmentError, match="is invalid"):
        load_definition(envs, "../environments/pandas1")
    with pytest.raises(IsolationEnvironmentError, match="is invalid"):
        manifest_path(envs, "Bad")


def test_load_definition(envs: Path) -> None:
    definition = load_definition(envs, "pandas1")
    assert definition == EnvironmentDefinition(
        python="3.9",
        requirements=["pandas<2", "six==1.16.0"],
        packages=["./libs/mylib"],
        description="legacy pandas",
    )
    assert definition.base_image is None


def test_load_definition_defaults(envs: Path) -> None:
    assert load_definition(envs, "empty") == EnvironmentDefinition()
    assert EnvironmentDefinition().python == "3.11"


def test_load_definition_accepts_str_paths(envs: Path) -> None:
    assert load_definition(str(envs), "zeta").python == "3.12"  # type: ignore[arg-type]


def test_missing_environment_lists_known_ones(envs: Path) -> None:
    with pytest.raises(IsolationEnvironmentError) as info:
        load_definition(envs, "pandas2")
    message = str(info.value)
    assert "environment 'pandas2' not found" in message
    assert str(envs / "pandas2" / DEFINITION_FILE) in message
    assert "empty, pandas1, zeta" in message
    assert "not-an-env" not in message
    assert "`isolationctl env create pandas2`" in message
    assert ENVIRONMENTS_PATH_VAR in message


def test_missing_environments_folder(tmp_path: Path) -> None:
    with pytest.raises(IsolationEnvironmentError, match=r"known environments in .*: none\)"):
        load_definition(tmp_path / "nowhere", "pandas1")


def test_unknown_key_lists_allowed_keys(envs: Path) -> None:
    _write_definition(envs, "typo", 'python = "3.10"\nrequirement = ["pandas"]\n')
    with pytest.raises(IsolationEnvironmentError) as info:
        load_definition(envs, "typo")
    message = str(info.value)
    assert "is not a valid environment definition" in message
    assert "requirement" in message
    allowed = "Allowed keys: python, requirements, packages, base_image, description, preload, constraints."
    assert allowed in message


@pytest.mark.parametrize(
    "text",
    [
        b"python = 3.10\n",
        b'requirements = "pandas"\n',
        b"python = \n",
        b"[[[",
        b'python = "3.9"\npython = "3.10"\n',
        b'description = "\xff"\n',
    ],
)
def test_malformed_definition(envs: Path, text: bytes) -> None:
    (envs / "bad").mkdir()
    (envs / "bad" / DEFINITION_FILE).write_bytes(text)
    with pytest.raises(
        IsolationEnvironmentError, match=r"bad[/\\]environment\.toml is not a valid environment definition"
    ):
        load_definition(envs, "bad")


def test_list_environment_names(envs: Path, tmp_path: Path) -> None:
    assert list_environment_names(envs) == ["empty", "pandas1", "zeta"]
    assert list_environment_names(tmp_path / "missing") == []


def test_definition_path_and_digest(envs: Path) -> None:
    assert definition_path(envs, "pandas1") == envs / "pandas1" / "environment.toml"
    assert definition_digest(envs, "pandas1") == hashlib.sha256(DEFINITION.encode()).hexdigest()


def test_default_build_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(BUILD_PATH_VAR, str(tmp_path / "builds"))
    assert default_build_path() == tmp_path / "builds"
    monkeypatch.delenv(BUILD_PATH_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_build_path() == tmp_path / "cache" / "airflow-isolation"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_build_path() == Path.home() / ".cache" / "airflow-isolation"


# --- manifests --------------------------------------------------------------------------------------


def _fake_venv(root: Path, python: Path = Path(sys.executable)) -> Path:
    venv = root / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(python)
    return venv


def _write_manifest(build: Path, envs: Path, name: str, venv: Path, **overrides: Any) -> BuildManifest:
    fields = {
        "name": name,
        "content_hash": "0123456789abcdef" * 4,
        "definition_digest": definition_digest(envs, name),
        "venv_path": str(venv),
        "python_version": "3.9.18",
        "runtime_version": "0.1.0",
        "built_at": "2024-03-30T11:00:00+00:00",
    }
    fields.update(overrides)
    manifest = BuildManifest(**fields)
    path = manifest_path(build, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.encode(manifest))
    return manifest


def test_manifest_path(tmp_path: Path) -> None:
    assert manifest_path(tmp_path, "pandas1") == tmp_path / "venvs" / "pandas1" / MANIFEST_FILE


def test_read_manifest_not_built(tmp_path: Path) -> None:
    assert read_manifest(tmp_path / "build", "pandas1") is None


def test_read_manifest_roundtrip(envs: Path, tmp_path: Path) -> None:
    written = _write_manifest(tmp_path / "build", envs, "pandas1", tmp_path / "v")
    assert read_manifest(tmp_path / "build", "pandas1") == written
    assert written.interpreter == tmp_path / "v" / "bin" / "python"


def test_read_manifest_ignores_unknown_fields(envs: Path, tmp_path: Path) -> None:
    """A newer CLI may add fields to the manifest; an older operator still reads it."""
    written = _write_manifest(tmp_path / "build", envs, "pandas1", tmp_path / "v")
    raw = msgspec.json.decode(manifest_path(tmp_path / "build", "pandas1").read_bytes())
    raw["added_later"] = {"x": 1}
    manifest_path(tmp_path / "build", "pandas1").write_bytes(msgspec.json.encode(raw))
    assert read_manifest(tmp_path / "build", "pandas1") == written


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"name": "pandas1"}', b"[]", b'{"name": "\xff"}'])
def test_unreadable_manifest(tmp_path: Path, content: bytes) -> None:
    path = manifest_path(tmp_path, "pandas1")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(IsolationEnvironmentError) as info:
        read_manifest(tmp_path, "pandas1")
    assert f"build manifest {path} is unreadable" in str(info.value)
    assert "`isolationctl env build pandas1 --force`" in str(info.value)


def test_resolve_venv_good(envs: Path, tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path)
    written = _write_manifest(tmp_path / "build", envs, "pandas1", venv)
    manifest = resolve_venv(envs, tmp_path / "build", "pandas1")
    assert manifest == written
    assert manifest.interpreter.is_file()
    assert os.path.samefile(manifest.interpreter, sys.executable)


def test_resolve_venv_not_built(envs: Path, tmp_path: Path) -> None:
    with pytest.raises(IsolationEnvironmentError) as info:
        resolve_venv(envs, tmp_path / "build", "pandas1")
    message = str(info.value)
    assert "environment 'pandas1' has not been built as a venv" in message
    assert str(tmp_path / "build") in message
    assert "`isolationctl env build pandas1 --target venv`" in message
    assert BUILD_PATH_VAR in message


def test_resolve_venv_unknown_environment(envs: Path, tmp_path: Path) -> None:
    """The definition is checked first: a built venv of a deleted environment is not used."""
    with pytest.raises(IsolationEnvironmentError, match="isolationctl env create ghost"):
        resolve_venv(envs, tmp_path / "build", "ghost")


def test_resolve_venv_outdated(envs: Path, tmp_path: Path) -> None:
    _write_manifest(tmp_path / "build", envs, "pandas1", _fake_venv(tmp_path))
    (envs / "pandas1" / DEFINITION_FILE).write_text(DEFINITION + 'base_image = "python:3.9-slim"\n')
    with pytest.raises(IsolationEnvironmentError) as info:
        resolve_venv(envs, tmp_path / "build", "pandas1")
    message = str(info.value)
    assert "environment 'pandas1' changed since it was built" in message
    assert str(envs / "pandas1" / DEFINITION_FILE) in message
    assert "0123456789ab" in message  # the build it differs from
    assert "`isolationctl env build pandas1 --target venv`" in message


def test_resolve_venv_interpreter_gone(envs: Path, tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, python=tmp_path / "deleted-python")  # a dangling symlink
    _write_manifest(tmp_path / "build", envs, "pandas1", venv)
    with pytest.raises(IsolationEnvironmentError) as info:
        resolve_venv(envs, tmp_path / "build", "pandas1")
    message = str(info.value)
    assert f"the built interpreter {venv / 'bin' / 'python'} is gone" in message
    assert "run `isolationctl env build pandas1 --target venv --force`" in message


def test_resolve_venv_venv_folder_gone(envs: Path, tmp_path: Path) -> None:
    _write_manifest(tmp_path / "build", envs, "pandas1", tmp_path / "never-created")
    with pytest.raises(IsolationEnvironmentError, match="is gone"):
        resolve_venv(envs, tmp_path / "build", "pandas1")


# --- image manifests and project settings -----------------------------------------------------------


def _image_manifest(envs: Path, name: str = "pandas1") -> Any:
    from airflow_isolation.workspace.environment import ImageManifest, image_repository, image_tag

    content_hash = "ab" * 32
    return ImageManifest(
        name=name,
        content_hash=content_hash,
        definition_digest=definition_digest(envs, name),
        image=f"{image_repository(name)}:{image_tag(content_hash)}",
        image_id="sha256:" + "cd" * 32,
        base_image="python:3.9-slim-bookworm",
        base_image_id="sha256:" + "ef" * 32,
        python_version="3.9.18",
        runtime_version="0.1.0",
        platform="linux/amd64",
        built_at="2026-11-23T00:00:00+00:00",
        pushed=["127.0.0.1:5000/airflow-isolation/pandas1:" + image_tag(content_hash)],
    )


def _write_image_manifest(build: Path, manifest: Any) -> None:
    from airflow_isolation.workspace.environment import image_manifest_path

    path = image_manifest_path(build, manifest.name)
    path.parent.mkdir(parents=True)
    path.write_bytes(msgspec.json.encode(manifest))


def test_resolve_image_roundtrip_and_tag(envs: Path, tmp_path: Path) -> None:
    from airflow_isolation.workspace.environment import resolve_image

    manifest = _image_manifest(envs)
    _write_image_manifest(tmp_path / "build", manifest)
    resolved = resolve_image(envs, tmp_path / "build", "pandas1")
    assert resolved == manifest
    assert resolved.tag == "ab" * 12 and resolved.image == "airflow-isolation/pandas1:" + "ab" * 12


def test_resolve_image_not_built_names_build_and_push(envs: Path, tmp_path: Path) -> None:
    from airflow_isolation.workspace.environment import resolve_image

    with pytest.raises(
        IsolationEnvironmentError, match=r"not been built as an image.*--target image.*env push"
    ):
        resolve_image(envs, tmp_path / "build", "pandas1")


def test_resolve_image_outdated(envs: Path, tmp_path: Path) -> None:
    from airflow_isolation.workspace.environment import resolve_image

    _write_image_manifest(tmp_path / "build", _image_manifest(envs))
    _write_definition(envs, "pandas1", DEFINITION + "# edited\n")
    with pytest.raises(
        IsolationEnvironmentError, match=r"changed since it was built.*the image airflow-isolation/"
    ):
        resolve_image(envs, tmp_path / "build", "pandas1")


def test_unreadable_image_manifest_names_the_rebuild(envs: Path, tmp_path: Path) -> None:
    from airflow_isolation.workspace.environment import image_manifest_path, read_image_manifest

    path = image_manifest_path(tmp_path, "pandas1")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{not json")
    with pytest.raises(IsolationEnvironmentError, match=r"--target image --force"):
        read_image_manifest(tmp_path, "pandas1")
