"""Every option of Airflow's ``[isolation]`` configuration section, in one table.

The table is the one declaration of a setting: the provider's ``get_provider_info()["config"]``
is generated from it, the typed readers of both sides (the operator through Airflow's
configuration, the CLI through the same variables and ``airflow.cfg`` without Airflow) take its
:class:`Option` objects rather than names, and the documentation's settings table is
:func:`markdown_table`. A setting the code reads but the table lacks fails a test, so the
provider's declaration cannot drift from the code again.

``AIRFLOW__ISOLATION__SETTINGS_FILE`` is not an option here: it is an environment variable, read
before Airflow's configuration, that names the ``isolation.toml`` further settings come from
(``project_settings``).

This module imports nothing of the workspace, so every other module (and the provider's
registration, which Airflow imports while initialising its configuration) can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Generic, Optional, Tuple, TypeVar, cast

SECTION = "isolation"

T = TypeVar("T")

FALSE_WORDS = ("false", "0", "no", "off")
"""What turns a boolean option off; anything else set turns it on."""


def _boolean(raw: str) -> bool:
    return raw.strip().lower() not in FALSE_WORDS


PARSERS: Dict[str, Callable[[str], Any]] = {"string": str, "boolean": _boolean, "float": float}
"""The types an option can have, named as Airflow's ``provider.yaml`` names them."""


class InvalidSetting(ValueError):
    """A set value that its option's type cannot read."""

    def __init__(self, option: Option[Any], raw: str) -> None:
        super().__init__(f"[{SECTION}] {option.name} = {raw!r} is not a {option.type}")
        self.option = option
        self.raw = raw


@dataclass(frozen=True)
class Option(Generic[T]):
    """One ``[isolation]`` option: ``T`` is what its readers return.

    ``default`` is what a reader returns when the option is unset or empty (as Airflow treats an
    empty value); ``None`` means "decided elsewhere", then ``default_text`` says by what, for the
    documentation. ``lenient``: a value the type cannot read means the default instead of an
    error, for a tuning knob that must never fail a task. ``in_project_file``: ``isolation.toml``
    may set it too (Airflow's configuration wins).
    """

    name: str
    type: str
    default: T
    description: str
    example: Optional[str] = None
    version_added: str = "0.1.0"
    default_text: Optional[str] = None
    lenient: bool = False
    in_project_file: bool = False

    def __post_init__(self) -> None:
        if self.type not in PARSERS:
            raise ValueError(f"option {self.name}: type {self.type!r} is not one of {', '.join(PARSERS)}")

    @property
    def variable(self) -> str:
        """The environment variable Airflow (and the CLI) read for this option."""
        return f"AIRFLOW__{SECTION.upper()}__{self.name.upper()}"

    def value(self, raw: Optional[str]) -> T:
        """``raw`` (the configured text, ``None`` when unset) read as this option's type."""
        if not raw:
            return self.default
        try:
            return cast(T, PARSERS[self.type](raw))
        except ValueError:
            if self.lenient:
                return self.default
            raise InvalidSetting(self, raw) from None


ENVIRONMENTS_PATH: Option[Optional[str]] = Option(
    "environments_path",
    "string",
    None,
    "Folder holding one sub-folder per environment (environment.toml). Unset: environments_path "
    "of the project's isolation.toml, else $AIRFLOW_HOME/environments.",
    example="/opt/airflow/environments",
    default_text="`$AIRFLOW_HOME/environments`",
    in_project_file=True,
)
BUILD_PATH: Option[Optional[str]] = Option(
    "build_path",
    "string",
    None,
    "Where `isolationctl env build` puts built environments. Unset: build_path of the project's "
    "isolation.toml, else ~/.cache/airflow-isolation.",
    example="/opt/airflow/isolation-builds",
    default_text="`~/.cache/airflow-isolation`",
    in_project_file=True,
)
DEFAULT_BACKEND: Option[str] = Option(
    "default_backend",
    "string",
    "venv",
    "Backend of tasks that do not pass backend=...: venv, docker or kubernetes. Unset: "
    "default_backend of the isolation.toml named by AIRFLOW__ISOLATION__SETTINGS_FILE, else venv.",
    example="docker",
    version_added="0.2.0",
    in_project_file=True,
)
WARM_RUNTIME: Option[bool] = Option(
    "warm_runtime",
    "boolean",
    True,
    "Warm starts on this worker: the venv backend's warm runtime and the Docker backend's standby "
    "containers. False turns them off; a task turns them off for itself with "
    'backend_options={"warm": False}.',
    example="False",
    version_added="0.3.0",
)
WARM_RUNTIME_IDLE_SECONDS: Option[float] = Option(
    "warm_runtime_idle_seconds",
    "float",
    600.0,
    "How long a warm runtime or a standby container waits for a task before it exits; also the "
    "default of `isolationctl env warm --idle`. A value that is not a number means 600.",
    example="1800",
    version_added="0.3.0",
    lenient=True,
)
VENV_SANDBOX: Option[str] = Option(
    "venv_sandbox",
    "string",
    "auto",
    "Whether venv tasks (cold starts and the warm runtime) run in a bubblewrap sandbox that sees "
    "none of the worker's processes, files and environment: auto (the default) uses it where this "
    "machine allows it and otherwise runs the task unsandboxed, saying why once in its log; "
    "required fails a task that cannot have it, before it runs; off never uses it. "
    "`isolationctl doctor` says which applies on this worker.",
    example="required",
    version_added="0.3.0",
)
KUBERNETES_NAMESPACE: Option[Optional[str]] = Option(
    "kubernetes_namespace",
    "string",
    None,
    "Namespace of the pods and request Secrets of backend='kubernetes' tasks (a task's "
    "backend_options namespace overrides it). Unset: the Kubernetes connection's namespace.",
    example="airflow-tasks",
    version_added="0.3.0",
    default_text="the connection's namespace",
)
KUBERNETES_CONN_ID: Option[Optional[str]] = Option(
    "kubernetes_conn_id",
    "string",
    None,
    "Kubernetes connection of backend='kubernetes' tasks. Unset: kubernetes_default (the "
    "KubernetesPodOperator's default).",
    example="kubernetes_default",
    version_added="0.3.0",
    default_text="`kubernetes_default`",
)
IMAGE_REGISTRY: Option[Optional[str]] = Option(
    "image_registry",
    "string",
    None,
    "Registry the cluster pulls environment images from (where `isolationctl env push --registry` put them).",
    example="registry.example.com:5000",
    version_added="0.3.0",
)
IMAGE_PULL_POLICY: Option[Optional[str]] = Option(
    "image_pull_policy",
    "string",
    None,
    "imagePullPolicy of environment pods: Always, IfNotPresent or Never. Unset: Kubernetes' "
    "default. Images are tagged by content hash, so IfNotPresent is safe.",
    example="IfNotPresent",
    version_added="0.3.0",
    default_text="Kubernetes' default",
)
KUBERNETES_SWEEP_GRACE_SECONDS: Option[Optional[float]] = Option(
    "kubernetes_sweep_grace_seconds",
    "float",
    None,
    "How old an unowned request Secret of backend='kubernetes' (left by a worker killed before its "
    "pod existed) must be before a run's sweep deletes it. Unset: 600.",
    example="600",
    version_added="0.3.0",
    default_text="`600`",
)

OPTIONS: Tuple[Option[Any], ...] = (
    ENVIRONMENTS_PATH,
    BUILD_PATH,
    DEFAULT_BACKEND,
    WARM_RUNTIME,
    WARM_RUNTIME_IDLE_SECONDS,
    VENV_SANDBOX,
    KUBERNETES_NAMESPACE,
    KUBERNETES_CONN_ID,
    IMAGE_REGISTRY,
    IMAGE_PULL_POLICY,
    KUBERNETES_SWEEP_GRACE_SECONDS,
)
"""Where things live, which backend, warm starts, then the Kubernetes backend's options."""

OPTIONS_BY_NAME: Dict[str, Option[Any]] = {option.name: option for option in OPTIONS}


def shown_default(option: Option[Any]) -> str:
    """The default as a reader of the documentation needs it (Markdown)."""
    if option.default_text is not None:
        return option.default_text
    if option.default is None:
        return "unset"
    if isinstance(option.default, float) and option.default.is_integer():
        return f"`{option.default:.0f}`"
    return f"`{option.default}`"


def markdown_table() -> str:
    """The options as a Markdown table (name | type | default | description), for the docs."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| name | type | default | description |", "| --- | --- | --- | --- |"]
    for option in OPTIONS:
        rows.append(
            f"| `{option.name}` | {option.type} | {cell(shown_default(option))} "
            f"| {cell(option.description)} |"
        )
    return "\n".join(rows) + "\n"
