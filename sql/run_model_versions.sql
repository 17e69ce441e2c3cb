-- The models one retrain run fitted, with their artifacts.
SELECT v.model, v.params, v.artifact_path, v.sha256, v.data_end
FROM model_versions AS v
WHERE v.run_id = :run_id
