"""The demo behind the README's first command.

Builds ``environments/example`` (Airflow 2.10.5 + pandas 1.x) with ``isolationctl``, runs the demo
DAG with ``airflow dags test`` on this host's Airflow 3, then prints host and target versions side
by side and every task's state. Exits non-zero if any task ended in an unexpected state.

``--backend docker`` builds the environment as an image instead and runs the same tasks in
containers (``--base-image`` picks the parent image; the default needs Docker Hub).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
DAG_IDS = {"venv": "isolation_demo", "docker": "isolation_demo_docker"}
EXPECTED = {"small_day": "skipped"}
console = Console()


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def _environment() -> dict[str, str]:
    home = REPO / ".airflow-home"
    data = home / "demo-data"
    data.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "examples" / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH": str(REPO / "environments"),
            "AIRFLOW__ISOLATION__BUILD_PATH": env.get("AIRFLOW__ISOLATION__BUILD_PATH")
            or str(REPO / ".isolation-build"),
            "ISOLATION_DEMO_DATA": str(data),
            "AIRFLOW_CONN_DEMO_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(data / "demo.db")}),
        }
    )
    return env


def _run(step: str, command: list[str], env: dict[str, str], log: Path | None = None) -> None:
    with console.status(f"[bold]{step}[/]…"):
        proc = subprocess.run(check=False, args=command, env=env, capture_output=True, text=True)
    if log is not None:
        log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        console.print(f"[red]✗ {step} failed[/] ({' '.join(command)})")
        console.print((proc.stdout + proc.stderr)[-6000:], markup=False)
        raise SystemExit(1)
    console.print(f"[green]✓[/] {step}")


def _run_report(dag_id: str) -> tuple[dict[str, str], dict[str, object]]:
    """Read the run back from the metadata database the DAG run wrote."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())
        ).first()
        assert run is not None
        states = {
            ti.task_id: str(getattr(ti.state, "value", ti.state))
            for ti in session.scalars(
                select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
            )
        }
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == "target_versions",
                XComModel.key == "return_value",
            )
        ).first()
        target = XComModel.deserialize_value(row) if row is not None else {}
    return states, target


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=sorted(DAG_IDS), default="venv", help="where the tasks run")
    parser.add_argument("--base-image", help="parent image for --backend docker (passed to isolationctl)")
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    dag_id = DAG_IDS[args.backend]
    env = _environment()
    os.environ.update(env)  # before anything imports Airflow: it reads AIRFLOW_HOME once
    home = Path(env["AIRFLOW_HOME"])
    build = [_bin("isolationctl"), "env", "build", "example"]
    if args.backend == "docker":
        build += ["--target", "image"] + (["--base-image", args.base_image] if args.base_image else [])
    _run(
        f"Build environment 'example' as a {'venv' if args.backend == 'venv' else 'Docker image'} "
        "(Airflow 2.10.5 + pandas<2)",
        build,
        env,
    )
    _run("Prepare the demo Airflow metadata database", [_bin("airflow"), "db", "migrate"], env)
    log = home / "demo-run.log"
    _run(
        f"Run DAG {dag_id} with `airflow dags test`",
        [_bin("airflow"), "dags", "test", dag_id, "2024-01-02"],
        env,
        log,
    )

    import airflow
    import pandas

    states, target = _run_report(dag_id)
    versions = Table(title="Host and isolated target, side by side")
    versions.add_column("")
    versions.add_column("host (this process)")
    versions.add_column(f"target (environments/example, {args.backend})")
    versions.add_row("Airflow", airflow.__version__, str(target.get("airflow", "?")))
    versions.add_row("pandas", pandas.__version__, str(target.get("pandas", "?")))
    versions.add_row("Python", platform.python_version(), str(target.get("python", "?")))
    console.print(versions)

    table = Table(title=f"Task states of {dag_id}")
    table.add_column("task")
    table.add_column("state")
    bad = []
    for task_id, state in sorted(states.items()):
        ok = state == EXPECTED.get(task_id, "success")
        bad += [] if ok else [task_id]
        table.add_row(task_id, f"[{'green' if ok else 'red'}]{state}[/]")
    console.print(table)
    console.print(f"Full log of the run: {log}")
    if bad:
        console.print(f"[red]Unexpected states for {', '.join(bad)}; see {log}[/]")
        return 1
    console.print("[green]All tasks ended as expected.[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
