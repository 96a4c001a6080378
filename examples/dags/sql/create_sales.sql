CREATE TABLE IF NOT EXISTS sales (id INTEGER PRIMARY KEY, amount REAL);
DELETE FROM sales;
INSERT INTO sales (amount) VALUES (10.5), (20.0), ({{ params.min_amount }} + 1);
