-- Forecast points of completed runs whose timestamp has an actual by now (up to the `until` parameter) and
-- that no run has scored yet.
SELECT f.run_id AS forecast_run_id, f.series_id, f.ts, f.step, f.model, f.yhat,
       f.yhat_lower_80, f.yhat_upper_80, f.yhat_lower_95, f.yhat_upper_95
FROM forecasts AS f
JOIN forecast_runs AS r ON r.run_id = f.run_id AND r.status = 'completed'
WHERE f.ts <= :until AND r.job = :job
  AND NOT EXISTS (
      SELECT 1 FROM forecast_accuracy AS a
      WHERE a.forecast_run_id = f.run_id AND a.series_id = f.series_id AND a.ts = f.ts
  )
