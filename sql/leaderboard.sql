-- Models of one run by mean backtest MASE, with interval coverage and series won.
SELECT s.model,
       AVG(s.mase) AS mean_mase,
       AVG(s.smape) AS mean_smape,
       AVG(s.coverage_80) AS coverage_80,
       AVG(s.coverage_95) AS coverage_95,
       (SELECT COUNT(*) FROM champions AS c
         WHERE c.run_id = s.run_id AND c.model = s.model) AS series_won
FROM backtest_scores AS s
WHERE s.run_id = :run_id
GROUP BY s.run_id, s.model
ORDER BY mean_mase
