"""Figures of recorded phases (Agg backend: no display needed)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PHASE_COLOURS = {"free": "tab:blue", "signal": "tab:orange"}


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def residuals(records, path, examples=8):
    fig, axes = plt.subplots(1, len(records), figsize=(5 * len(records), 3.8), sharey=True)
    for ax, (name, rec) in zip(np.atleast_1d(axes), records.items()):
        for j in range(min(examples, rec.residual.shape[1])):
            ax.semilogy(rec.t[:, j], np.maximum(rec.residual[:, j], 1e-17), color=PHASE_COLOURS[name], alpha=0.35, lw=1)
        ax.semilogy(np.median(rec.t, axis=1), np.maximum(np.median(rec.residual, axis=1), 1e-17), color="k", lw=2,
                    label="median over the batch")
        ax.set(title=f"{name} phase: residual", xlabel="time t (units of the leak time constant)",
               ylabel="‖P(s + f(s)) − s‖₂")
        ax.legend(loc="upper right")
        ax.grid(True, which="both", alpha=0.3)
    _save(fig, path)


def energies(records, path, examples=8):
    fig, axes = plt.subplots(1, len(records), figsize=(5 * len(records), 3.8))
    for ax, (name, rec) in zip(np.atleast_1d(axes), records.items()):
        for j in range(min(examples, rec.energy.shape[1])):
            ax.plot(rec.t[:, j], rec.energy[:, j], color=PHASE_COLOURS[name], alpha=0.6, lw=1)
        ax.set(title=f"{name} phase: energy E(s) per example", xlabel="time t", ylabel="E(s)")
        ax.grid(True, alpha=0.3)
    _save(fig, path)


def activities(records, path, examples=3):
    L = next(iter(records.values())).activity.shape[1]
    fig, axes = plt.subplots(L, len(records), figsize=(5 * len(records), 2.6 * L), squeeze=False)
    for col, (name, rec) in enumerate(records.items()):
        for ell in range(L):
            ax = axes[ell, col]
            for j in range(min(examples, rec.activity.shape[2])):
                ax.plot(rec.t[:, j], rec.activity[:, ell, j], lw=1.2, label=f"example {j}")
            ax.set(title=f"{name} phase, layer {ell + 1}: mean activity", xlabel="time t", ylabel="⟨ρ(s_ℓ)⟩")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
    _save(fig, path)


def steps_histogram(records, path):
    fig, ax = plt.subplots(figsize=(6, 3.8))
    top = max(int(rec.steps.max()) for rec in records.values())
    bins = np.arange(0, top + 2) - 0.5 if top < 60 else 40
    for name, rec in records.items():
        ax.hist(rec.steps, bins=bins, alpha=0.6, color=PHASE_COLOURS[name], label=f"{name} (mean {rec.steps.mean():.1f})")
    ax.set(title="steps to settle per example", xlabel="integrator steps", ylabel="examples")
    ax.legend()
    _save(fig, path)


def layer_differences(diffs, path):
    fig, ax = plt.subplots(figsize=(6, 3.8))
    layers = np.arange(1, len(diffs) + 1)
    ax.bar(layers, diffs, color="tab:green")
    ax.set(title="signal − free: mean |ρ(s_ℓ^signal) − ρ(s_ℓ⁰)| per layer", xlabel="layer ℓ",
           ylabel="mean absolute difference", xticks=layers)
    if max(diffs) / max(min(diffs), 1e-30) > 100:
        ax.set_yscale("log")
    _save(fig, path)


def solver_comparison(rows, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    names = [r["solver"] for r in rows]
    axes[0].barh(names, [r["nfev_mean"] for r in rows], color="tab:purple")
    axes[0].set(title="vector-field evaluations per example", xlabel="evaluations (log scale)", xscale="log")
    axes[1].barh(names, [1e3 * r["seconds"] for r in rows], color="tab:red")
    axes[1].set(title="wall time for the batch (median of repeats)", xlabel="milliseconds (log scale)", xscale="log")
    for ax in axes:
        ax.grid(True, axis="x", which="both", alpha=0.3)
    _save(fig, path)


def learning_curves(curves, path):
    """curves: {dataset: {method: (epochs, wall_seconds, error_percent)}}, one row of panels
    per dataset (against epoch, against wall time), one colour per method throughout. The
    error is the one the runs log each epoch: held-out validation images (the test split is
    looked at once, at the end)."""
    methods = list(dict.fromkeys(m for per in curves.values() for m in per))
    colour = {m: plt.get_cmap("tab10")(i % 10) for i, m in enumerate(methods)}
    fig, axes = plt.subplots(max(len(curves), 1), 2, figsize=(11, 4 * max(len(curves), 1)), squeeze=False)
    for (dataset, per), (left, right) in zip(curves.items(), axes):
        for method, (epochs, seconds, error) in per.items():
            left.plot(epochs, error, marker="o", ms=3, color=colour[method], label=method)
            right.plot(seconds, error, marker="o", ms=3, color=colour[method], label=method)
        left.set(title=f"{dataset}: held-out error against epoch", xlabel="epoch", ylabel="validation error (%)")
        right.set(title=f"{dataset}: against wall time", xlabel="training wall time (s, log)",
                  ylabel="validation error (%)", xscale="log")
        for ax in (left, right):
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
    _save(fig, path)
