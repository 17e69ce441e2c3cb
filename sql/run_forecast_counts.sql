-- How many rows and series of one run BI sees in latest_forecasts.
SELECT COUNT(*) AS n_rows, COUNT(DISTINCT series_id) AS n_series
FROM latest_forecasts
WHERE run_id = :run_id
