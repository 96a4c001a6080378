"""The host's view of a project: environment definitions, build manifests and ``isolation.toml``.

Shared by the CLI (which writes builds) and the operator (which reads them). It lives apart from
core because targets install core and hash its files: a change here must not rebuild any venv or
image.
"""

from airflow_isolation.workspace.__about__ import __version__

__all__ = ["__version__"]
