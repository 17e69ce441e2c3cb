"""The HTML run report, rendered for a small run and opened in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests import in_process
from tests.helpers import IN_CI, ON_SQLITE_ONLY, load_observations
from tidecast.db import make_engine, replace_observations
from tidecast.errors import TidecastError
from tidecast.flows.forecast import forecast_flow
from tidecast.flows.retrain import retrain
from tidecast.tasks.html_report import write_report

SECTIONS = ("summary", "leaderboard", "series", "data-health")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        message = "chromium is not installed (headless report test; .ci/run installs it)"
        if IN_CI:
            pytest.fail(message + " under CI=true")
        pytest.skip(message)
    return found


def open_in_chromium(page: Path, screenshot: Path) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and the console messages, from headless Chromium.

    Every host name resolves to nothing, so a request to the network would fail loudly.
    """
    common = [
        chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        f"--user-data-dir={screenshot.parent / 'chromium-profile'}", "--enable-logging=stderr",
        "--v=0", "--virtual-time-budget=15000", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1366,3000",
    ]  # fmt: skip
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180
    )
    shot = subprocess.run(
        [*common, f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    console = [line for line in (dom.stderr + shot.stderr).splitlines() if ":CONSOLE" in line]
    return dom.stdout, console


def test_the_console_check_sees_errors(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<html><body><script>console.error('boom'); undefinedFunction();</script></body></html>"
    )
    _, console = open_in_chromium(broken, tmp_path / "broken.png")
    assert any("boom" in line for line in console)
    assert any("undefinedFunction" in line for line in console)


@pytest.mark.slow  # headless Chromium opens it; the fast lane renders reports without it
def test_each_retrain_writes_a_report_that_opens_cleanly(loaded_db, run_env, tmp_path):
    run_env(loaded_db, models="naive,seasonal_naive,drift")
    run_id = retrain(horizon=6, freq="MS")
    page = tmp_path / "artifacts" / "reports" / f"{run_id}.html"
    assert page.is_file()
    markup = re.sub(r"<script>.*?</script>", "", page.read_text(), flags=re.DOTALL)
    assert not re.search(r"""(src|href)=["']?https?://""", markup)  # no external assets

    screenshot = tmp_path / "report.png"
    dom, console = open_in_chromium(page, screenshot)
    assert console == [], console
    for section in SECTIONS:
        assert f'<section id="{section}">' in dom
    # plotly drew every figure: stage times, MASE distribution, lengths, and the series
    drawn = re.findall(r'id="([\w-]+)" class="plotly-graph-div js-plotly-plot"', dom)
    assert {"stage-seconds", "mase-distribution", "series-lengths"} <= set(drawn)
    assert sum(name.startswith("series-") and name != "series-lengths" for name in drawn) >= 3
    assert dom.count('class="main-svg"') >= len(drawn)
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


def test_report_of_chosen_series_with_live_accuracy_and_unknown_ones(
    loaded_db, run_env, settings_for, tmp_path, observations
):
    run_env(loaded_db)
    run_id = retrain(horizon=6, freq="MS")
    # two months of actuals arrive and the forecast flow scores them
    last = observations.groupby("series_id").tail(1)
    new = pd.concat(
        [last.assign(ts=last["ts"] + pd.DateOffset(months=k)) for k in (1, 2)], ignore_index=True
    )
    engine = make_engine(loaded_db)
    replace_observations(engine, pd.concat([observations, new], ignore_index=True))
    engine.dispose()
    forecast_flow()
    settings = settings_for(loaded_db, artifacts_dir=tmp_path / "elsewhere")
    out = write_report(settings, run_id, tmp_path / "mine.html", ["S03"])
    text = out.read_text()
    assert run_id in text and "S03 — chosen" in text and "S01 — " not in text
    assert "live MASE" in text and "over 2" in text and "actuals since" in text
    with pytest.raises(TidecastError, match="series not found in the source: NOPE"):
        write_report(settings, run_id, tmp_path / "x.html", ["NOPE"])
    with pytest.raises(TidecastError, match="not a retrain run"):
        write_report(settings, "no-such-run", tmp_path / "x.html")
    assert os.environ.get("TIDECAST_HTML_REPORT") is None


@ON_SQLITE_ONLY
def test_a_series_id_with_markup_in_it_is_shown_as_text(
    db_url, pipeline_env, settings_for, tmp_path, observations
):
    marked = "<b>S9</b><img src=x onerror=alert(1)>"
    one = observations[observations["series_id"] == "S00"].assign(series_id=marked)
    load_observations(db_url, pd.concat([observations, one], ignore_index=True))
    pipeline_env(db_url)
    run_id = in_process.retrain(horizon=6, freq="MS")
    out = write_report(settings_for(db_url), run_id, tmp_path / "marked.html", [marked])
    text = out.read_text()
    # in the figure's title as entities (plotly.js shows them as the characters), never as
    # tags plotly.js would render, nor raw anywhere in the page
    assert "&lt;b&gt;S9&lt;\\u002fb&gt;&lt;img src=x onerror=alert(1)&gt; — chosen" in text
    assert "\\u003cb\\u003eS9" not in text and marked not in text
