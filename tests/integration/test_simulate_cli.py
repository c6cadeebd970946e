"""``hallctl simulate`` as a hall manager runs it: a readable table, JSON for machines, a chart, the history
CSV, a comparison with the old siloed model, and bad input refused with the key named."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner, Result
from PIL import Image

from hallctl.cli import main
from hallctl.history.events import read_history

from .halltest import EXAMPLE_CONFIG

PROFILE = EXAMPLE_CONFIG.parent / "arrivals.example.toml"


def hallctl(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_json_output_is_json_only_and_has_the_figures() -> None:
    result = hallctl("simulate", "--config", EXAMPLE_CONFIG, "--arrivals", PROFILE, "--days", "2", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["days"] == 2 and out["seed"] == 1
    for figures in (out["overall"], *out["by_matter"].values(), *out["by_channel"].values()):
        for key in ("tickets", "served", "no_shows", "abandoned", "wait_mean_s", "wait_p50_s", "wait_p90_s"):
            assert key in figures
        assert "service_level" in figures
    assert set(out["by_channel"]) == {"normal", "enterprise", "green", "appointment"}
    assert out["by_matter"]["CBDJ"]["target_wait_minutes"] == 20
    assert len(out["windows"]) == 8 and 0 < out["utilisation"] < 1
    assert all(0 <= w["utilisation"] <= 1 for w in out["windows"])


def test_the_table_chart_and_events_file(tmp_path: Path) -> None:
    chart, events = tmp_path / "chart.png", tmp_path / "events.csv"
    result = hallctl(
        "simulate", "--config", EXAMPLE_CONFIG, "--days", "1", "--seed", "3",
        "--chart", chart, "--events-out", events,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "参保登记" in result.stdout and "达标率" in result.stdout and "窗口总利用率" in result.stdout
    assert "wrote" in result.stderr and "wrote" not in result.stdout
    with Image.open(chart) as image:
        assert image.format == "PNG" and image.size[0] >= 800
    records = read_history(events, ZoneInfo("Asia/Shanghai"))
    assert len(records) > 100


def test_compare_with_the_siloed_model_and_another_config(tmp_path: Path) -> None:
    other = tmp_path / "six-integrated.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    extra = '\n[[windows]]\nid = 9\nkind = "integrated"\nprofile = "integrated"\n'
    other.write_text(text.replace("# -- devices", extra + "\n# -- devices", 1), encoding="utf-8")
    result = hallctl(
        "simulate", "--config", EXAMPLE_CONFIG, "--arrivals", PROFILE, "--days", "2",
        "--json", "--compare", "siloed", other,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    siloed, bigger = out["compare"]
    assert siloed["setup"] == "siloed" and bigger["setup"] == str(other)
    assert siloed["figures"]["overall"]["tickets"] == out["overall"]["tickets"]  # the same citizens
    assert siloed["difference"]["overall"]["wait_mean_s"] > 0  # the old model keeps them waiting longer
    assert bigger["difference"]["overall"]["wait_mean_s"] < 0  # one more window helps
    assert set(siloed["difference"]) >= {"overall", "CBDJ", "ZX"}
    table = hallctl("simulate", "--config", EXAMPLE_CONFIG, "--days", "1", "--compare", "siloed")
    assert table.exit_code == 0, table.output
    assert "分设窗口（改革前）" in table.stdout


def test_bad_input_is_refused_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "arrivals.toml"
    bad.write_text(
        PROFILE.read_text(encoding="utf-8").replace("probability = 0.04", "probability = 4"), "utf-8"
    )
    result = hallctl("simulate", "--config", EXAMPLE_CONFIG, "--arrivals", bad, "--json")
    assert result.exit_code != 0 and result.stdout == ""
    assert "no_show.probability" in result.stderr and str(bad) in result.stderr
    other = tmp_path / "other.toml"
    other.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8").replace('"ZX"', '"ZXX"'), "utf-8")
    result = hallctl("simulate", "--config", EXAMPLE_CONFIG, "--compare", other)
    assert result.exit_code != 0 and "matters differ" in result.stderr
    result = hallctl("simulate", "--config", EXAMPLE_CONFIG, "--days", "0")
    assert result.exit_code != 0 and "--days" in result.stderr
    result = hallctl("simulate", "--config", EXAMPLE_CONFIG, "siloed")
    assert result.exit_code != 0 and "--compare" in result.stderr
