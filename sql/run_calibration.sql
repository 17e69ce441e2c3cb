-- Interval calibration of one retrain run.
SELECT k.model, k.step, k.yhat_lower_95, k.yhat_lower_80, k.yhat_upper_80, k.yhat_upper_95
FROM interval_calibration AS k
WHERE k.run_id = :run_id
