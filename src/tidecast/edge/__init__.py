"""The Prefect edge: everything that knows Prefect, apart from the flows themselves.

`steps` runs the pipeline's steps as tasks; `runs` keeps the run record and publishes;
`runners` picks the task runner; `run_names`, `prefect_logs`, `settings` (the Secret
block), `artifacts` and `server` (a local Prefect server process) do one thing each.
Importing this package imports nothing of Prefect: the CLI sets Prefect's environment
first (`prefect_logs.PREFECT_DEFAULTS`).
"""
