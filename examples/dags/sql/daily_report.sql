-- Rendered on the host ({{ ds }} and params come from the DAG run), executed in the isolated env.
SELECT '{{ ds }}' AS day, COUNT(*) AS n_rows, SUM(amount) AS total
FROM sales
WHERE amount >= {{ params.min_amount }};
