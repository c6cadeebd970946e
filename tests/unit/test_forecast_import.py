"""A hall moving from an older queuing system learns its service times on day one from that history."""

from __future__ import annotations

from pathlib import Path

import pytest
from hallkit import config_with

from hallctl.core.servicetimes import WaitModel
from hallctl.forecast.worker import learn_imported
from hallctl.history.events import HistoryError


def _history(path: Path, minutes: float, rows: int) -> Path:
    lines = ["ticket_id,matter,channel,issued_at,called_at,finished_at,window"]
    for i in range(rows):
        start = 1772413200 + i * 900  # 2026-03-02 09:00 +08:00, every quarter hour
        lines.append(f"{i},CBDJ,normal,{start},{start + 60},{start + 60 + minutes * 60},1")
    lines.append(f"{rows},OLDMATTER,normal,1772413200,1772413260,1772413500,2")  # gone from this hall
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_imported_history_moves_service_times_from_the_configured_guess(tmp_path: Path) -> None:
    csv = _history(tmp_path / "old-system.csv", minutes=15, rows=40)
    config = config_with(forecast={"history_file": str(csv)})
    guessed = WaitModel.from_config(config).service(("CBDJ",)).mean  # the config's 6 minutes
    model = WaitModel.from_config(config)
    assert learn_imported(model, config, csv) == 40  # the row of a matter this hall lacks is skipped
    learned = model.service(("CBDJ",)).mean
    assert abs(learned - 900) < abs(guessed - 900) and learned > 600


def test_a_missing_or_broken_history_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="history_file"):
        config_with(forecast={"history_file": str(tmp_path / "nope.csv")})
    broken = tmp_path / "broken.csv"
    broken.write_text("ticket_id,matter\n1,CBDJ\n", encoding="utf-8")
    config = config_with(forecast={"history_file": str(broken)})
    with pytest.raises(HistoryError, match=r"broken\.csv"):
        learn_imported(WaitModel.from_config(config), config, broken)


def test_a_relative_history_file_is_found_beside_the_config(tmp_path: Path) -> None:
    from hallctl.config import load_config

    hall_dir = tmp_path / "hall"
    hall_dir.mkdir()
    _history(hall_dir / "old.csv", minutes=10, rows=3)
    text = (Path(__file__).resolve().parents[2] / "config" / "hall.example.toml").read_text(encoding="utf-8")
    config_file = hall_dir / "hall.toml"
    config_file.write_text(text + '\n[forecast]\nhistory_file = "old.csv"\n', encoding="utf-8")
    assert load_config(config_file).forecast.history_file == hall_dir / "old.csv"
