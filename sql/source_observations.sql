-- The source of observations. Edit this query to read your own table: it must
-- return exactly the columns series_id, ts, value (rename with AS if needed).
-- Example: SELECT store || '-' || sku AS series_id, day AS ts, units AS value FROM sales
SELECT series_id, ts, value
FROM observations
