-- The models fitted by the latest completed retrain run, with their artifacts.
SELECT v.model, v.params, v.artifact_path, v.sha256, v.data_end
FROM model_versions AS v
WHERE v.run_id = (
    SELECT r.run_id FROM forecast_runs AS r
    WHERE r.status = 'completed' AND r.flow_name = 'retrain'
    ORDER BY r.finished_at DESC, r.run_id DESC
    LIMIT 1)
