#!/usr/bin/env bash
# A template file: rendered on the host from the DAG folder, executed in the isolated environment.
echo "hello {{ ds }} {{ params.who }}"
