-- What a backfill run wrote: rows and cutoffs.
SELECT COUNT(*) AS n_rows, COUNT(DISTINCT cutoff) AS n_cutoffs
FROM backfill_forecasts
WHERE run_id = :run_id
