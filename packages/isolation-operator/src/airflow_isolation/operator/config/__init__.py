"""The host's settings: Airflow's ``[isolation]`` options read and typed (``settings``), and the
provider's registration that declares them to Airflow (``provider_info``). Both take the options
from ``airflow_isolation.workspace.settings_table``."""
