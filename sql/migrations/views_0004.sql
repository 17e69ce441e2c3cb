-- The views of revision 0004: those of 0002 (every view carries the job, tidecast.yaml,
-- and rows are ranked per (job, series_id), so jobs that share series ids never see
-- each other's), `current_champions` with each champion's `reason` (a series too short
-- to backtest says so there: tasks/short_history.py) and its series' demand class
-- (`demand_class`, `adi`, `cv2`: tasks/demand.py) appended.
-- CREATE OR REPLACE keeps what BI built on a view on PostgreSQL (columns are only ever
-- appended, never renamed, retyped or reordered). On SQLite, which has no such
-- statement, tidecast drops and re-creates the view.

-- What BI reads: per job and series, the rows of its most recent *completed* run. A run
-- that failed or is still writing never shows here, so dashboards see either the new
-- forecasts whole or the previous ones. `ts` labels the forecast period as the grid
-- does (its first day for MS, its last for ME). `period_start` and `period_end`
-- (exclusive) say which instants it covers.
CREATE OR REPLACE VIEW latest_forecasts AS
WITH ranked AS (
    SELECT
        f.run_id, f.series_id, f.ts, f.step, f.model, f.yhat,
        f.yhat_lower_80, f.yhat_upper_80, f.yhat_lower_95, f.yhat_upper_95, f.created_at,
        r.job, r.freq, f.period_start, f.period_end, r.unit,
        DENSE_RANK() OVER (
            PARTITION BY r.job, f.series_id ORDER BY r.finished_at DESC, r.run_id DESC
        ) AS recency
    FROM forecasts AS f
    JOIN forecast_runs AS r ON r.run_id = f.run_id
    WHERE r.status = 'completed'
)
SELECT run_id, series_id, ts, step, model, yhat,
       yhat_lower_80, yhat_upper_80, yhat_lower_95, yhat_upper_95, created_at,
       job, freq, period_start, period_end, unit
FROM ranked
WHERE recency = 1;

-- Every completed run's forecasts, with `as_of` the time the run finished (when BI
-- could first see them): "what did we forecast for March, as of 1 February" is
-- WHERE ts = … AND as_of <= … (the newest as_of per series and ts wins).
CREATE OR REPLACE VIEW forecast_history AS
SELECT r.job, f.series_id, f.ts, f.step, f.model, f.yhat,
       f.yhat_lower_80, f.yhat_upper_80, f.yhat_lower_95, f.yhat_upper_95,
       r.finished_at AS as_of, f.run_id, r.flow_name, r.freq, f.period_start, f.period_end,
       r.unit
FROM forecasts AS f
JOIN forecast_runs AS r ON r.run_id = f.run_id
WHERE r.status = 'completed';

CREATE OR REPLACE VIEW current_champions AS
WITH ranked AS (
    SELECT
        c.series_id, c.model, c.score, c.metric, c.run_id, c.promoted_at, c.previous_model,
        c.members, r.job, c.reason, c.demand_class, c.adi, c.cv2,
        ROW_NUMBER() OVER (
            PARTITION BY r.job, c.series_id ORDER BY r.finished_at DESC, r.run_id DESC
        ) AS recency
    FROM champions AS c
    JOIN forecast_runs AS r ON r.run_id = c.run_id
    WHERE r.status = 'completed'
)
SELECT series_id, model, score, metric, run_id, promoted_at, previous_model, members, job,
       reason, demand_class, adi, cv2
FROM ranked
WHERE recency = 1;

-- Live accuracy for BI: per job, model and week of the forecast timestamp.
CREATE OR REPLACE VIEW accuracy_summary AS
SELECT a.model, a.week_start,
       COUNT(*) AS points,
       COUNT(DISTINCT a.series_id) AS series,
       AVG(a.scaled_error) AS mean_scaled_error,
       AVG(a.abs_error) AS mean_abs_error,
       AVG(1.0 * a.inside_80) AS coverage_80,
       AVG(1.0 * a.inside_95) AS coverage_95,
       r.job
FROM forecast_accuracy AS a
JOIN forecast_runs AS r ON r.run_id = a.forecast_run_id
GROUP BY r.job, a.model, a.week_start;

-- How the pipeline would have done: per job, backfill cutoff and model, where actuals exist.
CREATE OR REPLACE VIEW backfill_accuracy AS
SELECT cutoff, model,
       COUNT(*) AS points,
       COUNT(DISTINCT series_id) AS series,
       AVG(scaled_error) AS mase,
       AVG(abs_error) AS mean_abs_error,
       AVG(CASE WHEN y BETWEEN yhat_lower_80 AND yhat_upper_80 THEN 1.0 ELSE 0.0 END)
           AS coverage_80,
       AVG(CASE WHEN y BETWEEN yhat_lower_95 AND yhat_upper_95 THEN 1.0 ELSE 0.0 END)
           AS coverage_95,
       job
FROM backfill_forecasts
WHERE y IS NOT NULL
GROUP BY job, cutoff, model
