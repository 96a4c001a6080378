"""The compatibility table of ``docs/compatibility-matrix.md``, made from the JUnit reports of a full
matrix run.

    hatch run +host=H +py=P matrix:conformance --junitxml=RESULTS/hostH-pyP.xml   (every H, P)
    python integration-tests/matrix_report.py RESULTS

prints the Markdown table (one row per host and Python, ``venv / docker`` per target) and the
footnotes: a failing cell shows its first error line, an impossible one the reason it cannot exist.
``test_matrix.test_matrix_page_lists_every_cell`` reads the table back (``parse_table``).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Tuple

from matrix import BACKENDS, HOSTS, PYTHONS, TARGETS, Cell, all_cells

KUBERNETES = "real cluster¹"
HEADER_PREFIX = "| host |"


def read_results(folder: Path) -> Dict[str, Tuple[str, float, str]]:
    """Test id (``host2.10-af29-py3.10-venv``) -> (pass|FAIL, seconds, first error line)."""
    results: Dict[str, Tuple[str, float, str]] = {}
    for report in sorted(folder.glob("*.xml")):
        for case in ET.parse(report).iter("testcase"):
            name = case.get("name", "")
            if not name.startswith("test_cell["):
                continue
            cell_id = name[len("test_cell[") : -1]
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            seconds = float(case.get("time", "0"))
            if problem is None and case.find("skipped") is None:
                results[cell_id] = ("pass", seconds, "")
            else:
                message = (problem.get("message", "") if problem is not None else "skipped").splitlines()
                results[cell_id] = ("FAIL", seconds, message[0][:200] if message else "")
    return results


def table(results: Dict[str, Tuple[str, float, str]]) -> str:
    reasons: List[str] = []
    notes: List[str] = []
    titles = " | ".join(_target_title(t) for t in TARGETS)
    header = [f"{HEADER_PREFIX} Python | {titles} | kubernetes |"]
    header.append("|" + "---|" * (len(TARGETS) + 3))
    rows = []
    cells = {(c.host, c.target, c.python, c.backend): reason for c, reason in all_cells()}
    for host, version in HOSTS.items():
        for python in PYTHONS:
            entries = []
            for target in TARGETS:
                reason = cells[(host, target, python, BACKENDS[0])]
                if reason is not None:
                    if reason not in reasons:
                        reasons.append(reason)
                    entries.append(f"impossible{_superscript(reasons.index(reason) + 2)}")
                    continue
                parts = []
                for backend in BACKENDS:
                    cell_id = Cell(host, target, python, backend).id
                    missing = ("not run", 0.0, "no result in the reports")
                    status, _seconds, error = results.get(cell_id, missing)
                    if status == "FAIL":
                        notes.append(f"- `{cell_id}`: {error}")
                    parts.append(status)
                entries.append(" / ".join(parts))
            rows.append(f"| {host} ({version}) | {python} | " + " | ".join(entries) + f" | {KUBERNETES} |")
    footnotes = [
        "¹ kubernetes: not part of the matrix; the conformance suite runs on a real single-node cluster "
        "in every `.ci/run` (host 3.3.2 with targets af210 and af31 on Python 3.11 and no-Airflow py313 "
        "on 3.13), with the lifecycle and deployment suites.",
        *(f"{_superscript(i + 2)} {reason}." for i, reason in enumerate(reasons)),
    ]
    total = sum(seconds for _status, seconds, _error in results.values())
    possible = sum(1 for reason in cells.values() if reason is None)
    passed = sum(1 for r in results.values() if r[0] == "pass")
    failed = sum(1 for r in results.values() if r[0] == "FAIL")
    not_run = possible - len(results)
    summary = f"{passed} of {possible} possible cells passed, {failed} failed, {not_run} not run"
    summary += f" ({total / 60:.0f} min of cell time)."
    return "\n".join(header + rows + [""] + footnotes + [""] + notes + [summary])


def parse_table(text: str) -> Dict[Tuple[str, str, str], str]:
    """(host, target, Python) -> the table's entry (``pass / pass``, ``impossible²``…)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(HEADER_PREFIX)), None)
    if start is None:
        return {}
    targets = list(TARGETS)
    entries: Dict[Tuple[str, str, str], str] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("| "):
            break
        columns = [column.strip() for column in line.strip("|").split("|")]
        host, python = columns[0].split(" ")[0], columns[1]
        for target, entry in zip(targets, columns[2:]):
            entries[(host, target, python)] = entry
    return entries


def _target_title(target: str) -> str:
    airflow = TARGETS[target].airflow
    return f"{target} ({airflow})" if airflow else "none (no Airflow)"


def _superscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python integration-tests/matrix_report.py RESULTS_FOLDER")
    print(table(read_results(Path(sys.argv[1]))))
