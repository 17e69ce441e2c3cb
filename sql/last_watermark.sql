-- The newest data any completed run has read, and the run's parameters (its frequency).
SELECT data_watermark, parameters
FROM forecast_runs
WHERE status = 'completed' AND data_watermark IS NOT NULL AND job = :job
ORDER BY data_watermark DESC, finished_at DESC
LIMIT 1
