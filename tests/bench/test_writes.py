from bench.writes import forecast_rows, write_once


def test_the_write_benchmark_writes_what_it_says(tmp_path):
    rows = forecast_rows(1000)
    assert len(rows) == 1000 and rows["step"].between(1, 18).all()
    assert not rows.duplicated(["series_id", "ts"]).any()  # valid primary keys
    assert write_once(f"sqlite:///{tmp_path / 'w.db'}", rows, "bulk") > 0
