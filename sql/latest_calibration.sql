-- Interval calibration of the latest completed retrain run.
SELECT k.model, k.step, k.yhat_lower_95, k.yhat_lower_80, k.yhat_upper_80, k.yhat_upper_95
FROM interval_calibration AS k
WHERE k.run_id = (
    SELECT r.run_id FROM forecast_runs AS r
    WHERE r.status = 'completed' AND r.flow_name = 'retrain'
    ORDER BY r.finished_at DESC, r.run_id DESC
    LIMIT 1)
