-- One series' backtest in the latest completed run that scored it: models by mean MASE.
SELECT s.model, AVG(s.mase) AS mean_mase, AVG(s.smape) AS mean_smape, AVG(s.rmse) AS mean_rmse,
       AVG(s.coverage_80) AS coverage_80, AVG(s.coverage_95) AS coverage_95,
       COUNT(*) AS folds
FROM backtest_scores AS s
WHERE s.series_id = :series_id
  AND s.run_id = (
      SELECT r.run_id FROM forecast_runs AS r
      JOIN backtest_scores AS b ON b.run_id = r.run_id AND b.series_id = :series_id
      WHERE r.status = 'completed' AND r.job = :job
      ORDER BY r.finished_at DESC, r.run_id DESC
      LIMIT 1)
GROUP BY s.model
ORDER BY mean_mase
