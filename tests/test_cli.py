"""End to end through the ``ctnn`` command."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ctnn.cli import main


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "digits"
    # `ctnn train --dataset digits`, as the quick start runs it (seed 0). Measured on the
    # validation split: 2.78%, 5.56%, 3.82% for seeds 0, 1, 2 (results/digits/).
    assert main(["train", "--dataset", "digits", "--out", str(run), "--quiet"]) == 0
    return run


def test_default_digits_run_reaches_five_percent(digits_run):
    lines = _metrics(digits_run)
    for key in ("epoch", "train_error", "test_error", "seconds", "steps_free", "steps_signal", "residual_free"):
        assert key in lines[-1]
    assert [m["epoch"] for m in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["test_error"] <= 0.05, lines[-1]


def test_run_directory_holds_resolved_config_and_checkpoint(digits_run):
    cfg = json.loads((digits_run / "config.json").read_text())
    assert cfg["model"]["inputs"] == 64 and cfg["model"]["outputs"] == 10 and cfg["train"]["seed"] == 0
    with np.load(digits_run / "checkpoint.npz") as z:
        assert int(z["epoch"]) == cfg["train"]["epochs"]
        assert np.all(np.isfinite(z["theta"]))
        assert json.loads(str(z["config"])) == cfg
        assert "state" in json.loads(str(z["rng"]))


def test_evaluate_prints_the_error_of_the_last_epoch(digits_run, capsys):
    assert main(["evaluate", str(digits_run / "checkpoint.npz")]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["error"] == pytest.approx(_metrics(digits_run)[-1]["test_error"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--preset", "ep-9h"], "unknown preset"),
        (["train", "--dataset", "cifar"], "is not one of digits, mnist, fashion-mnist"),
        (["train", "--set", "learning.beta=0"], "non-zero"),
        (["train", "--set", "model.inputs=784", "--epochs", "1"], "model.inputs = 784 but dataset digits has 64"),
        (["evaluate", "/nonexistent/checkpoint.npz"], "no checkpoint"),
    ],
)
def test_user_errors_exit_2_with_one_line(argv, message, capsys, tmp_path):
    argv = argv + (["--out", str(tmp_path / "r")] if argv[0] == "train" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ctnn: error:") and message in err and "\n" not in err


def test_console_script_exit_status(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    bad = subprocess.run([sys.executable, "-m", "ctnn.cli", "train", "--set", "free.step=0", "--out", str(tmp_path)],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "free.step must be > 0" in bad.stderr
