"""How the states settle: recorded phases, summaries, and a side-by-side of the solvers.

Each phase is run with the residual test on (to ``tol``), recording every ``every``
iterations: states, residual norms, energy (symmetric networks) and each layer's mean
activity ⟨ρ(s_ℓ)⟩, as plain arrays with a leading time axis.
"""

import time
from dataclasses import dataclass

import numpy as np

from solvers import LIMIT, SETTLED, settle

from .network import layered_field
from .phases import free_phase, nudged_phase, signal_phase, sigprop_signal, solver_options


@dataclass
class PhaseRecord:
    phase: str
    t: np.ndarray  # (R, B)
    residual: np.ndarray  # (R, B)
    states: np.ndarray  # (R, N, B)
    energy: np.ndarray | None  # (R, B), symmetric networks
    activity: np.ndarray  # (R, L, B) mean ρ(s_ℓ) per layer
    steps: np.ndarray  # (B,)
    nfev: np.ndarray  # (B,)
    status: np.ndarray  # (B,)
    final: np.ndarray  # (N, B) the state settle returned

    def summary(self) -> dict:
        return {
            "mean_steps": float(self.steps.mean()),
            "max_steps": int(self.steps.max()),
            "mean_nfev": float(self.nfev.mean()),
            "fraction_at_step_limit": float(np.mean(self.status == LIMIT)),
            "fraction_settled": float(np.mean(self.status == SETTLED)),
            "final_residual_mean": float(self.residual[-1].mean()),
            "final_residual_max": float(self.residual[-1].max()),
        }


def inspect_options(phase_cfg, net, method=None, tol=1e-6, max_steps=2000):
    """A phase's solver with the residual test on: what 'settled' means for inspection."""
    cfg = {**phase_cfg, "check": True, "atol": tol, "rtol": 0.0, "max_steps": max(max_steps, phase_cfg["max_steps"])}
    if method is not None:
        cfg["method"] = method
        cfg["step"] = 1.0 if method == "fixed_point" else phase_cfg["step"]
    return solver_options(cfg, net)


def _record(net, theta, x, phase, result):
    traj = result.trajectory
    energy = None
    if net.connectivity == "symmetric":
        energy = np.array([net.energy(theta, x, y) for y in traj.y])
    activity = np.array([[net.activity(y, ell).mean(axis=0) for ell in range(1, net.L + 1)] for y in traj.y])
    return PhaseRecord(phase, traj.t, traj.residual, traj.y, energy, activity, result.steps, result.nfev,
                       result.status, result.y)


def record_phases(net, theta, x, c, cfg, S=None, method=None, tol=1e-6, every=1, max_steps=2000):
    """Run the free phase from zeros and the configured signal phase from s⁰, recording.

    x (n_0, B), c (K, B) one-hot. EP's signal phase nudges with +|β|; sigprop's injects
    u_1 = γ S e (and nudges the output if configured). Returns {"free": …, "signal": …}.
    """
    ln = cfg["learning"]
    free_opts = inspect_options(cfg["free"], net, method, tol, max_steps)
    sig_opts = inspect_options(cfg["signal"], net, method, tol, max_steps)
    free, data = free_phase(net, theta, x, net.zeros(x.shape[1]), free_opts, c, record_every=every)
    if ln["algorithm"] == "ep":
        sig = nudged_phase(net, theta, data, free.y, abs(ln["beta"]), sig_opts, record_every=every)
    else:
        u1 = sigprop_signal(S, c, net.output(free.y), ln["gamma"], ln["signal"])
        beta = ln["beta"] if ln["output_nudge"] else 0.0
        sig = signal_phase(net, theta, data, free.y, u1, beta, sig_opts, record_every=every)
    return {"free": _record(net, theta, x, "free", free), "signal": _record(net, theta, x, "signal", sig)}


def layer_differences(net, free, signal):
    """Mean |ρ(s_ℓ^signal) − ρ(s_ℓ⁰)| per layer ℓ = 1 … L, averaged over the batch."""
    return [float(np.mean(np.abs(net.activity(signal, ell) - net.activity(free, ell)))) for ell in range(1, net.L + 1)]


SOLVER_CANDIDATES = (
    ("euler", 0.5), ("euler", 0.01), ("heun", 0.5), ("rk4", 0.5), ("dopri5", 0.5), ("fixed_point", 1.0),
)


def compare_solvers(net, theta, x, tol=1e-6, max_steps=100000, candidates=SOLVER_CANDIDATES, repeats=3):
    """Each integrator on the same free phase: steps, f-evaluations and wall time to a
    residual of ``tol``, and its distance from a tight reference fixed point."""
    lo, hi = net.bounds
    data = net.data(theta, x)
    s0 = net.zeros(x.shape[1])
    common = {"lo": lo, "hi": hi, "blocks": net.blocks, "max_steps": max_steps, "max_norm": 1e12}
    ref = settle(layered_field, s0, theta, net.meta, data, method="rk4", step=0.25, atol=1e-12, **common)
    rows = []
    for method, step in candidates:
        times = []
        for _ in range(repeats):  # the median of a few, on a noisy shared machine
            t0 = time.perf_counter()
            # dopri5's local error must sit well below the residual asked for, or it
            # hovers at its stability limit with a residual of the order of its tolerance
            r = settle(layered_field, s0, theta, net.meta, data, method=method, step=step, atol=tol,
                       step_atol=tol / (10 * np.sqrt(net.n_units)), step_rtol=0.0, **common)
            times.append(time.perf_counter() - t0)
        rows.append({
            "solver": method if method in ("dopri5", "fixed_point") else f"{method} h={step:g}",
            "steps_mean": float(r.steps.mean()),
            "nfev_mean": float(r.nfev.mean()),
            "seconds": float(np.median(times)),
            "settled": float(np.mean(r.status == SETTLED)),
            "distance_to_reference": float(np.abs(r.y - ref.y).max()),
        })
    return rows, float(np.abs(ref.residual).max())


def inspect_run(net, theta, x, c, cfg, out, S=None, method=None, tol=1e-6, every=1):
    """Record both phases on (x, c) and write the figures and summary.json into ``out``."""
    import json
    from pathlib import Path

    from . import plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records = record_phases(net, theta, x, c, cfg, S, method, tol, every)
    files = {"residual.png": lambda p: plots.residuals(records, p),
             "activity.png": lambda p: plots.activities(records, p),
             "steps.png": lambda p: plots.steps_histogram(records, p)}
    diffs = layer_differences(net, records["free"].final, records["signal"].final)
    files["layer_difference.png"] = lambda p: plots.layer_differences(diffs, p)
    if net.connectivity == "symmetric":
        files["energy.png"] = lambda p: plots.energies(records, p)
    for name, draw in files.items():
        draw(out / name)
    summary = {
        "examples": int(x.shape[1]),
        "solver": method or {p: cfg[p]["method"] for p in ("free", "signal")},
        "tolerance": tol,
        "phases": {name: rec.summary() for name, rec in records.items()},
        "layer_difference": diffs,
        "figures": sorted(files),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return records, summary


def solver_report(net, theta, x, out, tol=1e-6):
    """compare_solvers on (x) -> solvers.md, solvers.csv and solvers.png in ``out``."""
    import csv
    from pathlib import Path

    from . import plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, ref_residual = compare_solvers(net, theta, x, tol)
    with open(out / "solvers.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# Solvers on one free phase ({net.sizes}, batch {x.shape[1]}, residual ≤ {tol:g})", "",
             f"Reference: RK4 h = 0.25 to a residual of {ref_residual:.1e}.", "",
             "| solver | steps | f-evals | seconds | settled | max distance to reference |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['solver']} | {r['steps_mean']:.1f} | {r['nfev_mean']:.1f} | {r['seconds']:.4f} | "
              f"{100 * r['settled']:.0f}% | {r['distance_to_reference']:.1e} |" for r in rows]
    (out / "solvers.md").write_text("\n".join(lines) + "\n")
    plots.solver_comparison(rows, out / "solvers.png")
    return rows
