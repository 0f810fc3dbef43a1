"""The study runner behind `ctnn compare` and the ablation: runs, reuse, tables."""


import json

from ctnn.cli import main
from ctnn.study import Row, run_grid, write_table


def test_grid_runs_reuses_and_writes_tables(tmp_path):
    rows = [Row("ep", ["--set", "model.hidden=[16]"]),
            Row("sp", ["--set", "model.hidden=[16]", "--set", "learning.algorithm=sigprop"])]
    table = run_grid(rows, ["digits"], 2, tmp_path / "runs", epochs=2, jobs=2)
    assert [r["method"] for r in table] == ["ep", "sp"] and all(r["seeds"] == 2 for r in table)
    for r in table:
        assert 0 <= r["test_error_mean"] <= 100 and r["peak_rss_mb"] > 10 and r["epochs"] == 2
        assert "--seed 0" in r["command"] and "ctnn train" in r["command"]
    done = tmp_path / "runs" / "ep--digits--seed1" / "done.json"
    stamp = done.stat().st_mtime_ns
    again = run_grid(rows, ["digits"], 2, tmp_path / "runs", epochs=2)  # nothing new to run
    assert done.stat().st_mtime_ns == stamp and again == table
    partial = run_grid(rows, ["digits"], 3, tmp_path / "runs", epochs=2, finished_only=True)
    assert [r["seeds"] for r in partial] == [2, 2] and not (tmp_path / "runs" / "ep--digits--seed2").exists()
    write_table(table, tmp_path / "t.md", tmp_path / "t.csv", "T")
    assert "| ep | digits |" in (tmp_path / "t.md").read_text()
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 3


def test_table_reports_the_test_split_apart_from_validation(tmp_path, capsys):
    table = run_grid([Row("ep", ["--set", "model.hidden=[16]"])], ["digits"], 1, tmp_path / "runs", epochs=1)
    run = tmp_path / "runs" / "ep--digits--seed0"
    capsys.readouterr()
    assert main(["evaluate", str(run), "--split", "test"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["split"] == "test" and table[0]["test_error_mean"] == 100 * test["error"]
    metrics = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert table[0]["val_error_mean"] == 100 * metrics["test_error"]  # the logged held-out (validation) error


def test_interrupted_run_is_resumed_not_restarted(tmp_path):
    row = Row("ep", ["--set", "model.hidden=[16]"])
    out = tmp_path / "runs" / "ep--digits--seed0"
    assert main(["train", "--dataset", "digits", "--seed", "0", "--out", str(out), "--quiet", "--epochs", "1",
                 "--set", "model.hidden=[16]"]) == 0
    first = (out / "metrics.jsonl").read_text().splitlines()[0]
    table = run_grid([row], ["digits"], 1, tmp_path / "runs", epochs=3)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert lines[0] == first and len(lines) == 3 and table[0]["epochs"] == 3


def test_compare_command_writes_its_outputs(tmp_path):
    assert main(["compare", "--methods", "ep-1h,sigprop-ff-1h", "--datasets", "digits", "--seeds", "1",
                 "--epochs", "1", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path)]) == 0
    for name in ("comparison.md", "comparison.csv", "learning_curves.png"):
        assert (tmp_path / name).stat().st_size > 100
    assert main(["compare", "--methods", "ep-9h"]) == 2
