-- What BI reads: for each series, the rows of its most recent *completed* run.
-- A run that failed or is still writing never shows here, so dashboards see either
-- the new forecasts whole or the previous ones.
DROP VIEW IF EXISTS latest_forecasts;
CREATE VIEW latest_forecasts AS
WITH ranked AS (
    SELECT
        f.run_id, f.series_id, f.ts, f.step, f.model, f.yhat,
        f.yhat_lower_80, f.yhat_upper_80, f.yhat_lower_95, f.yhat_upper_95, f.created_at,
        DENSE_RANK() OVER (
            PARTITION BY f.series_id ORDER BY r.finished_at DESC, r.run_id DESC
        ) AS recency
    FROM forecasts AS f
    JOIN forecast_runs AS r ON r.run_id = f.run_id
    WHERE r.status = 'completed'
)
SELECT run_id, series_id, ts, step, model, yhat,
       yhat_lower_80, yhat_upper_80, yhat_lower_95, yhat_upper_95, created_at
FROM ranked
WHERE recency = 1;
DROP VIEW IF EXISTS current_champions;
CREATE VIEW current_champions AS
WITH ranked AS (
    SELECT
        c.series_id, c.model, c.score, c.metric, c.run_id, c.promoted_at, c.previous_model,
        c.members,
        ROW_NUMBER() OVER (
            PARTITION BY c.series_id ORDER BY r.finished_at DESC, r.run_id DESC
        ) AS recency
    FROM champions AS c
    JOIN forecast_runs AS r ON r.run_id = c.run_id
    WHERE r.status = 'completed'
)
SELECT series_id, model, score, metric, run_id, promoted_at, previous_model, members
FROM ranked
WHERE recency = 1
;
-- Live accuracy for BI: per model and week of the forecast timestamp.
DROP VIEW IF EXISTS accuracy_summary;
CREATE VIEW accuracy_summary AS
SELECT model, week_start,
       COUNT(*) AS points,
       COUNT(DISTINCT series_id) AS series,
       AVG(scaled_error) AS mean_scaled_error,
       AVG(abs_error) AS mean_abs_error,
       AVG(1.0 * inside_80) AS coverage_80,
       AVG(1.0 * inside_95) AS coverage_95
FROM forecast_accuracy
GROUP BY model, week_start
;
-- How the pipeline would have done: per backfill cutoff and model, where actuals exist.
DROP VIEW IF EXISTS backfill_accuracy;
CREATE VIEW backfill_accuracy AS
SELECT cutoff, model,
       COUNT(*) AS points,
       COUNT(DISTINCT series_id) AS series,
       AVG(scaled_error) AS mase,
       AVG(abs_error) AS mean_abs_error,
       AVG(CASE WHEN y BETWEEN yhat_lower_80 AND yhat_upper_80 THEN 1.0 ELSE 0.0 END)
           AS coverage_80,
       AVG(CASE WHEN y BETWEEN yhat_lower_95 AND yhat_upper_95 THEN 1.0 ELSE 0.0 END)
           AS coverage_95
FROM backfill_forecasts
WHERE y IS NOT NULL
GROUP BY cutoff, model
