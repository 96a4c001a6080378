SELECT '{{ ds }}' AS day, {{ params.n }} * 2 AS doubled;
