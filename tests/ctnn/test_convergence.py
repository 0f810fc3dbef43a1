"""Convergence inspection: recorded phases, the inspect command's files, solver ranking."""

import json

import numpy as np
import pytest

from ctnn import config
from ctnn.cli import main
from ctnn.convergence import compare_solvers, record_phases
from ctnn.train import build, new_state, one_hot


@pytest.fixture(scope="module")
def fresh():
    cfg = config.resolve(None, sets=["model.hidden=[32]", "free.step=0.05", "signal.step=0.05"])
    dataset, net = build(cfg)
    state = new_state(cfg, net, 0)
    net.view(state.theta, "W2")[...] *= 4.0  # a coupled, non-trivial relaxation
    x = np.ascontiguousarray(dataset.x_eval[:12].T)
    c = one_hot(dataset.y_eval[:12], 10, net.dtype)
    return cfg, net, state, x, c


def test_recorded_trajectory_ends_at_the_settled_state(fresh):
    cfg, net, state, x, c = fresh
    records = record_phases(net, state.theta, x, c, cfg, every=3)
    for rec in records.values():
        assert np.array_equal(rec.states[-1], rec.final)
        assert rec.states.shape[1:] == rec.final.shape
        assert rec.activity.shape == (rec.states.shape[0], net.L, x.shape[1])
        assert np.all(rec.residual[-1] <= 1e-6)


def test_energy_along_a_symmetric_free_phase_never_increases(fresh):
    cfg, net, state, x, c = fresh
    rec = record_phases(net, state.theta, x, c, cfg, every=1)["free"]
    assert rec.energy is not None and rec.energy.shape[0] > 10
    assert np.all(np.diff(rec.energy, axis=0) <= 1e-12)


def test_inspect_writes_every_promised_file_with_the_recorded_numbers(tmp_path):
    out = tmp_path / "inspect"
    assert main(["inspect", "--preset", "ep-1h", "--dataset", "digits", "--examples", "10", "--out", str(out),
                 "--every", "1"]) == 0
    for name in ("residual.png", "energy.png", "activity.png", "steps.png", "layer_difference.png", "summary.json"):
        assert (out / name).stat().st_size > 1000 or name == "summary.json"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["examples"] == 10
    # recompute from the API with the same settings: the same numbers
    cfg = config.resolve("ep-1h", sets=["data.dataset=digits"])
    dataset, net = build(cfg)
    state = new_state(cfg, net, 0)
    x = np.ascontiguousarray(dataset.x_eval[:10].T)
    records = record_phases(net, state.theta, x, one_hot(dataset.y_eval[:10], 10, net.dtype), cfg)
    for phase, rec in records.items():
        got = summary["phases"][phase]
        assert got["mean_steps"] == pytest.approx(rec.steps.mean())
        assert got["max_steps"] == rec.steps.max()
        assert got["final_residual_max"] == pytest.approx(rec.residual[-1].max())
        assert got["fraction_at_step_limit"] == pytest.approx(np.mean(rec.status == 2))


def test_solver_comparison_ranks_a_tiny_fixed_step_behind_the_adaptive_solver(fresh):
    cfg, net, state, x, c = fresh
    rows, ref_residual = compare_solvers(net, state.theta, x, tol=1e-6, repeats=1,
                                         candidates=(("euler", 0.002), ("dopri5", 0.5), ("rk4", 0.5)))
    by = {r["solver"]: r for r in rows}
    assert ref_residual < 1e-10
    assert by["euler h=0.002"]["nfev_mean"] > 3 * by["dopri5"]["nfev_mean"]
    assert by["euler h=0.002"]["steps_mean"] > 10 * by["dopri5"]["steps_mean"]
    for r in rows:
        assert r["settled"] == 1.0 and r["distance_to_reference"] < 1e-5


def test_compare_solvers_command_writes_table_and_plot(tmp_path):
    assert main(["inspect", "--preset", "ep-1h", "--dataset", "digits", "--examples", "8", "--compare-solvers",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "solvers.png").stat().st_size > 1000
    md = (tmp_path / "solvers.md").read_text()
    for name in ("euler h=0.5", "heun", "rk4", "dopri5", "fixed_point"):
        assert name in md
    assert len((tmp_path / "solvers.csv").read_text().splitlines()) == 7


def test_inspect_bad_arguments(tmp_path, capsys):
    assert main(["inspect", "--preset", "ep-1h", "--dataset", "digits", "--solver", "rk45", "--out", str(tmp_path)]) == 2
    assert "unknown solver" in capsys.readouterr().err
