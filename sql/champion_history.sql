-- Every champion decision of a completed run, oldest first (optionally for one series).
SELECT c.series_id, c.model, c.score, c.metric, c.previous_model, c.reason, c.members,
       c.promoted_at, c.run_id, r.flow_name
FROM champions AS c
JOIN forecast_runs AS r ON r.run_id = c.run_id
WHERE r.status = 'completed' AND r.job = :job
  AND (CAST(:series_id AS VARCHAR(255)) IS NULL OR c.series_id = CAST(:series_id AS VARCHAR(255)))
ORDER BY c.series_id, r.finished_at, c.run_id
