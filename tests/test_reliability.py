"""Nothing lost, nothing silent: resume after SIGKILL, divergence, corrupt checkpoints."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ctnn import config
from ctnn.cli import main
from ctnn.phases import DivergenceError
from ctnn.train import load_checkpoint, train

# epochs of a fraction of a second: enough of them that the kill lands before the end
EPOCHS = 8
SLOW = ["--dataset", "digits", "--epochs", str(EPOCHS), "--seed", "3", "--quiet",
        "--set", "free.max_steps=150", "--set", "model.hidden=[128]"]


def _ctnn(*args):
    return [sys.executable, "-m", "ctnn.cli", *args]


def _epochs_done(run):
    path = run / "metrics.jsonl"
    return len(path.read_text().splitlines()) if path.is_file() else 0


def test_killed_and_resumed_run_is_bit_identical(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(_ctnn("train", *SLOW, "--out", str(whole)), check=True, env=env, capture_output=True)
    proc = subprocess.Popen(_ctnn("train", *SLOW, "--out", str(killed)), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while _epochs_done(killed) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # inside epoch 3, or between a metrics line and its checkpoint
    proc.wait()
    done = _epochs_done(killed)
    assert 2 <= done < EPOCHS, "the kill must land before the run finished"
    _, state = load_checkpoint(killed)
    assert state.epoch in (done - 1, done)
    assert main(["train", "--resume", str(killed), "--quiet"]) == 0
    _, a = load_checkpoint(whole)
    _, b = load_checkpoint(killed)
    assert a.epoch == b.epoch == EPOCHS
    assert np.array_equal(a.theta, b.theta)
    assert np.array_equal(a.particles, b.particles)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    lines_a = [json.loads(x) for x in (whole / "metrics.jsonl").read_text().splitlines()]
    lines_b = [json.loads(x) for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert [m["test_error"] for m in lines_a] == [m["test_error"] for m in lines_b]


def test_divergence_stops_with_a_clear_message_and_keeps_the_last_checkpoint(tmp_path):
    cfg = config.resolve(None, sets=["model.activation=tanh", "train.epochs=1"])
    train(cfg, tmp_path, progress=False, log=lambda *_: None)
    _, state = load_checkpoint(tmp_path)
    bad = config.resolve(None, sets=["model.activation=tanh", "train.epochs=3", "free.step=3.0"])
    with pytest.raises(DivergenceError) as err:
        train(bad, tmp_path, progress=False, state=state, log=lambda *_: None)
    msg = str(err.value)
    for part in ("free phase", "layer", "euler", "step 3.0", "Try a smaller free.step"):
        assert part in msg
    _, after = load_checkpoint(tmp_path)
    assert after.epoch == 1 and np.all(np.isfinite(after.theta)) and np.all(np.isfinite(after.particles))
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 1


def test_divergence_exit_status_from_the_command(tmp_path, capsys):
    code = main(["train", "--quiet", "--out", str(tmp_path), "--set", "model.activation=tanh",
                 "--set", "free.step=3.0", "--epochs", "1"])
    assert code == 3
    err = capsys.readouterr().err
    assert err.startswith("ctnn: diverged: dynamics diverged in the free phase") and "Traceback" not in err
    assert not (tmp_path / "checkpoint.npz").exists()


def test_corrupt_checkpoint_gives_one_clear_error(tmp_path, capsys):
    (tmp_path / "checkpoint.npz").write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is not a readable ctnn checkpoint" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path), "--quiet"]) == 2


def test_resume_refuses_to_change_the_configuration(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--set", "learning.beta=2"]) == 2
    assert "drop --set" in capsys.readouterr().err


def test_checkpoint_is_replaced_atomically(tmp_path, monkeypatch):
    """A crash while writing leaves the previous checkpoint intact."""
    from ctnn import train as train_module

    cfg = config.resolve(None, sets=["train.epochs=1"])
    train(cfg, tmp_path, progress=False, log=lambda *_: None)
    before = (tmp_path / "checkpoint.npz").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(train_module.np, "savez", crash)
    _, state = load_checkpoint(tmp_path)
    with pytest.raises(OSError):
        train_module.save_checkpoint(tmp_path / "checkpoint.npz", state, cfg)
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
