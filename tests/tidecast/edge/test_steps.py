"""The Prefect edge's fan-out: real tasks in a real flow on a thread pool."""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from tidecast.edge.steps import PrefectSteps


def doubled(number: int) -> int:
    return 2 * number


def test_map_hands_each_result_on_in_the_items_order(prefect_harness, settings_for):
    steps = PrefectSteps(settings_for("sqlite://"))
    seen: list[int] = []

    @flow(name="map-probe", task_runner=ThreadPoolTaskRunner(max_workers=2))
    def run() -> tuple[list, list]:
        handed = steps.map(doubled, list(range(6)), stage="probe", each=seen.append)
        kept = steps.map(doubled, list(range(3)), stage="probe")
        return handed, kept

    handed, kept = run()
    assert seen == [0, 2, 4, 6, 8, 10] and handed == []
    assert kept == [0, 2, 4]
