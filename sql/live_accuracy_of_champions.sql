-- Per series: its current champion's recent live errors (timestamps after the `since` parameter) and the
-- champion's mean backtest MASE in the run that promoted it (none after a rollback).
-- Only forecasts issued since that run count: the errors of forecasts made before a retrain
-- refitted the champion would keep a series "degraded" (and retraining) until they age out.
WITH live AS (
    SELECT a.series_id, a.model, AVG(a.scaled_error) AS live_mase, COUNT(*) AS points
    FROM forecast_accuracy AS a
    JOIN current_champions AS c ON c.series_id = a.series_id AND c.model = a.model
    JOIN forecast_runs AS issued ON issued.run_id = a.forecast_run_id
    JOIN forecast_runs AS promoting ON promoting.run_id = c.run_id
    WHERE a.ts > :since AND issued.started_at >= promoting.started_at AND c.job = :job
    GROUP BY a.series_id, a.model
),
backtest AS (
    SELECT b.series_id, b.model, AVG(b.mase) AS backtest_mase
    FROM backtest_scores AS b
    JOIN current_champions AS c
      ON c.series_id = b.series_id AND c.model = b.model AND c.run_id = b.run_id
    WHERE c.job = :job
    GROUP BY b.series_id, b.model
)
SELECT live.series_id, live.model, live.live_mase, live.points, backtest.backtest_mase
FROM live
JOIN backtest ON backtest.series_id = live.series_id AND backtest.model = live.model
