"""benchmark/wall_time.py: the reference run's wall time per stage group, from a hand-written timings CSV."""

from pathlib import Path

import pytest

from redbench.benchmark.wall_time import read_timings, stage_group, wall_time_table

HEAD = "queue,stage,started,seconds,status,source\n"


def _write(path: Path, body: str) -> Path:
    path.write_text(HEAD + body)
    return path


def test_stage_group_is_the_dvc_yaml_stage():
    assert stage_group("reference/dvc.yaml:predict_red_boxes@red-0-tracking") == "predict_red_boxes"
    assert stage_group("train_sdm") == "train_sdm"


def test_interrupted_attempts_count_apart_and_the_total_is_halved_for_two_queues(tmp_path):
    rows = read_timings(_write(tmp_path / "t.csv",
                               "0,r:train_red@red-0,x,1000,exit -1,queue log\n"  # cut by a session's end
                               "0,r:train_red@red-0,x,2600,done,queue log\n"
                               "1,r:train_red@red_static-0,x,3600,done,queue log\n"
                               "1,r:predict_sdm@300vw,x,30,done,queue log\n"
                               "1,r:predict_sdm@tf,x,10,done,output file times\n"))
    table = wall_time_table(rows)
    assert "| train_red | 2 | 6,200 | 3,100 | 3,600 | 1,000 | queue log |" in table
    assert "| predict_sdm | 2 | 40 | 20 | 30 | 0 | output file times, queue log |" in table
    assert "| **all** | 4 | 6,240 | | | 1,000 | |" in table
    # (6,240 + 1,000) s = 2.0 h of one core, 1.0 h in two queues
    assert "2.0 hours of one core" in table and "about 1.0 hours of wall time" in table
    assert table.index("train_red") < table.index("predict_sdm")  # the largest first


def test_a_malformed_timings_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"t.csv, line 2: seconds 'soon' is not a number"):
        read_timings(_write(tmp_path / "t.csv", "0,a,x,soon,done,queue log\n"))
    (tmp_path / "u.csv").write_text("stage,seconds\na,1\n")
    with pytest.raises(ValueError, match=r"u.csv: not a timings file"):
        read_timings(tmp_path / "u.csv")


def test_appended_rows_read_back_and_the_header_is_written_once(tmp_path):
    from redbench.benchmark.wall_time import append_timings

    path = tmp_path / "sub" / "t.csv"
    row = {"queue": 0, "stage": "a", "started": "x", "seconds": 1.5, "status": "done", "source": "queue log"}
    append_timings(path, [row])
    append_timings(path, [{**row, "stage": "b"}])
    assert path.read_text().count("queue,stage") == 1
    assert [(r["stage"], r["seconds"]) for r in read_timings(path)] == [("a", 1.5), ("b", 1.5)]
