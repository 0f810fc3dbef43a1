"""Sweeps on a Dask LocalCluster over loopback: every trial lands, lost workers are survived,
finished trials are not rerun, failures are reported."""

import csv
import os
import signal
import threading
import time

import pytest

distributed = pytest.importorskip("distributed", reason="install the [distributed] extra")

from ctnn.cli import main  # noqa: E402
from ctnn.sweep import parse_grid, run_sweep, seeds  # noqa: E402

TINY = ["--set", "model.hidden=[16]", "--epochs", "2"]


def _rows(out):
    with open(out / "sweep.csv") as fh:
        return list(csv.DictReader(fh))


def test_every_trial_lands_and_a_second_run_runs_nothing(tmp_path):
    out = tmp_path / "sweep"
    table = run_sweep(TINY, parse_grid(["learning.beta=0.5,1.0"]), 2, out, "digits", workers=2, progress=False)
    rows = _rows(out)
    assert len(rows) == len(table) == 4
    assert {(r["learning.beta"], r["seed_index"]) for r in rows} == {(b, i) for b in ("0.5", "1.0") for i in ("0", "1")}
    assert all(r["status"] == "done" and float(r["final_test_error"]) < 0.9 for r in rows)
    for r in rows:  # each run directory exactly as ctnn train writes it
        assert {"config.json", "metrics.jsonl", "checkpoint.npz"} <= set(os.listdir(r["run_dir"]))
    assert [int(r["seed"]) for r in rows[:2]] == seeds(2)
    stamps = {r["run_dir"]: os.stat(os.path.join(r["run_dir"], "metrics.jsonl")).st_mtime_ns for r in rows}
    again = run_sweep(TINY, parse_grid(["learning.beta=0.5,1.0"]), 2, out, "digits", workers=2, progress=False)
    assert all(r["status"] == "skipped (finished before)" for r in again)
    assert stamps == {r["run_dir"]: os.stat(os.path.join(r["run_dir"], "metrics.jsonl")).st_mtime_ns for r in rows}


def test_a_killed_worker_does_not_lose_the_sweep(tmp_path):
    from dask.distributed import Client, LocalCluster

    out = tmp_path / "sweep"
    slow = ["--set", "model.hidden=[64]", "--set", "free.max_steps=200", "--epochs", "3"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one():
            deadline = time.time() + 120
            while time.time() < deadline:  # once a trial is under way, kill a worker
                if any((out / "trials").glob("*/metrics.jsonl")):
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one)
        killer.start()
        table = run_sweep(slow, parse_grid(["learning.beta=0.5,1.0"]), 2, out, "digits",
                          scheduler=cluster.scheduler_address, retries=2, progress=False)
        killer.join()
    assert killed, "the worker was never killed"
    assert len(table) == 4 and all(r["status"] == "done" for r in table), [r.get("error") for r in table]
    assert all(r["final_test_error"] is not None for r in table)


def test_failed_trials_are_reported_not_dropped(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(["sweep", "--dataset", "digits", "--seeds", "1", "--workers", "1", "--retries", "1", "--quiet",
                 "--set", "model.hidden=[8]", "--set", "model.activation=tanh", "--epochs", "1",
                 "--grid", "free.step=0.5,3.0", "--out", str(out)])
    assert code == 1
    rows = {r["free.step"]: r for r in _rows(out)}
    assert rows["0.5"]["status"] == "done"
    assert rows["3.0"]["status"] == "failed" and "diverged" in rows["3.0"]["error"]
    assert "failed:" in capsys.readouterr().err


def test_bad_grids_are_refused_before_any_work(tmp_path, capsys):
    assert main(["sweep", "--dataset", "digits", "--seeds", "1", "--grid", "learning.betta=1,2",
                 "--out", str(tmp_path)]) == 2
    assert "did you mean learning.beta" in capsys.readouterr().err
    assert main(["sweep", "--dataset", "digits", "--seeds", "1", "--grid", "nothing", "--out", str(tmp_path)]) == 2
