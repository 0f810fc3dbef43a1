"""The phases: relaxations of one network on one batch, differing only in the signal u.

free phase      u = 0                                      -> s⁰
nudged phase    u_L = β ρ′(s_L)(c − ρ(s_L))       (EP)     -> s^β
signal phase    u_1 = γ S e, e = c or c − ρ(s_L⁰),           -> s^γ
                optionally with the output nudge u_L  (sigprop)
"""

import numpy as np

from solvers import DIVERGED, settle

from .network import layered_field


# With activations bounded by 1 a settled state is O(weights) per unit; a state whose
# units are beyond this on average has left every meaningful region: a numerical blow-up.
MAX_STATE_PER_UNIT = 1e4


class DivergenceError(RuntimeError):
    """The dynamics blew up: a NaN or Inf, or states past every meaningful bound."""


def solver_options(phase_cfg, net):
    """Keyword arguments of :func:`solvers.settle` for one phase's configuration."""
    lo, hi = net.bounds
    keys = ("method", "step", "max_steps", "check", "atol", "rtol", "step_atol", "step_rtol")
    return {**{k: phase_cfg[k] for k in keys}, "lo": lo, "hi": hi, "blocks": net.blocks,
            "max_norm": MAX_STATE_PER_UNIT * np.sqrt(net.n_units)}


def relax(net, theta, s_init, data, opts, phase, record_every=0):
    """Settle from s_init with the field's inputs ``data``; divergence raises."""
    result = settle(layered_field, s_init, theta, net.meta, data, record_every=record_every, **opts)
    if np.any(result.status == DIVERGED):
        raise DivergenceError(describe_divergence(net, result, opts, phase))
    return result


def describe_divergence(net, result, opts, phase):
    j = int(np.flatnonzero(result.status == DIVERGED)[0])
    worst, worst_ell = -1.0, 1
    for ell in range(1, net.L + 1):
        col = net.layer(result.y, ell)[:, j]
        size = np.inf if not np.all(np.isfinite(col)) else float(np.abs(col).max())
        if size > worst:
            worst, worst_ell = size, ell
    n_div = int(np.sum(result.status == DIVERGED))
    return (
        f"dynamics diverged in the {phase} phase: {n_div}/{result.status.size} samples "
        f"(first: sample {j}, layer {worst_ell}, max |s| = {worst:.3g}, residual {result.residual[j]:.3g}) "
        f"with solver {opts['method']} step {opts['step']}. Try a smaller {phase}.step, "
        f"an adaptive solver (--set {phase}.method=dopri5), smaller learning rates or a bounded "
        f"activation (model.activation=hard_sigmoid)."
    )


def free_phase(net, theta, x, s_init, opts, c=None, record_every=0):
    """u = 0. Returns the settle result and the field's inputs (reused by signal phases)."""
    data = net.data(theta, x, c)
    return relax(net, theta, s_init, data, opts, "free", record_every), data


def nudged_phase(net, theta, data, s0, beta, opts, record_every=0):
    """EP: from s⁰, u_L = β ρ′(s_L) ⊙ (c − ρ(s_L)) with c already in ``data``."""
    d = data.copy()
    d[-1] = beta
    return relax(net, theta, s0, d, opts, "signal", record_every)


def signal_phase(net, theta, data, s0, u1, beta, opts, record_every=0):
    """Sigprop: from s⁰, u_1 injected at the front (and u_L when β ≠ 0)."""
    d = data.copy()
    n1 = net.sizes[1]
    d[n1 : 2 * n1] = u1
    d[-1] = beta
    return relax(net, theta, s0, d, opts, "signal", record_every)


def sigprop_signal(S, c, output0, gamma, kind):
    """u_1 = γ S c (target) or γ S (c − ρ(s_L⁰)) (error), for c, ρ(s_L⁰) of shape (K, B)."""
    return gamma * (S @ (c if kind == "target" else c - output0))
