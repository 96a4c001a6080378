"""What code travels with a task: a callable's source, classes and helpers defined in the DAG
file, and the modules it imports from the DAGs and plugins folders."""
