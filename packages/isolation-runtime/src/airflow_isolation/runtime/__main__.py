"""Process entry point: run the entrypoint, then end as ``process.exit`` explains."""

from airflow_isolation.runtime.entrypoint import main
from airflow_isolation.runtime.process.exit import end_process

end_process(main())
