"""Tables the site takes from the code, so the documentation cannot drift from what the code reads.

A page holds a marker (``<!-- settings-table -->``); this mkdocs hook replaces it with the table the
code generates. The imports are at module level on purpose: a missing or broken table module fails
the build when mkdocs loads the hook, and a page that lost its marker fails it too, so a site never
ships without its tables.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from mkdocs.exceptions import PluginError

from airflow_isolation.core.facets import FACETS
from airflow_isolation.workspace.settings_table import markdown_table


def facets_table() -> str:
    """One row per facet of ``core/facets.py``: its name, the schema minor that introduced it, its fields."""
    rows = ["| facet | since schema | fields it owns | what it carries |", "|---|---|---|---|"]
    for facet in FACETS:
        fields = ", ".join(f"`{field}`" for field in facet.fields)
        since = f"{facet.since.major}.{facet.since.minor}"
        summary = facet.summary.replace("|", "\\|")
        rows.append(f"| `{facet.name}` | {since} | {fields} | {summary} |")
    return "\n".join(rows)


TABLES: Dict[str, Dict[str, Callable[[], str]]] = {
    "settings.md": {"<!-- settings-table -->": markdown_table},
    "architecture.md": {"<!-- facets-table -->": facets_table},
}


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    for marker, make in TABLES.get(page.file.src_uri, {}).items():
        if marker not in markdown:
            raise PluginError(
                f"{page.file.src_uri} lost its {marker} marker: the generated table has no place"
            )
        markdown = markdown.replace(marker, make().strip())
    return markdown
