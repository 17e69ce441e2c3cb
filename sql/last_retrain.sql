-- The latest completed retrain run: its id and the settings it ran with.
SELECT run_id, parameters
FROM forecast_runs
WHERE status = 'completed' AND flow_name = 'retrain' AND job = :job
ORDER BY finished_at DESC, run_id DESC
LIMIT 1
