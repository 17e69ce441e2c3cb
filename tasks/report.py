"""What a run shows in the Prefect UI: a table of models with their cost and wins."""

from __future__ import annotations

import pandas as pd
from prefect.artifacts import create_markdown_artifact

from tasks.options import compute_task


def model_table(scores: pd.DataFrame, chosen: pd.DataFrame, seconds: dict[str, float]) -> str:
    """Markdown: per model, mean backtest MASE and sMAPE, series won, seconds spent."""
    board = scores.groupby("model").agg(
        mean_mase=("mase", "mean"),
        mean_smape=("smape", "mean"),
        coverage_80=("coverage_80", "mean"),
        coverage_95=("coverage_95", "mean"),
    )
    board["series_won"] = chosen["model"].value_counts().reindex(board.index).fillna(0)
    board["seconds"] = pd.Series(seconds).reindex(board.index)
    total = sum(seconds.values()) or 1.0
    board["share_of_model_time"] = board["seconds"] / total
    board = board.sort_values("mean_mase").reset_index()
    return board.to_markdown(index=False, floatfmt=".3f")


def publish_model_table(
    run_id: str, scores: pd.DataFrame, chosen: pd.DataFrame, seconds: dict[str, float]
) -> str:
    """Attach the model table to the flow run as a Prefect markdown artifact."""
    markdown = f"# tidecast run {run_id}\n\n" + model_table(scores, chosen, seconds)
    create_markdown_artifact(
        markdown=markdown,
        key="tidecast-models",
        description="Backtest leaderboard and model cost of this run",
    )
    return markdown


report_models = compute_task(publish_model_table, "report-models")
