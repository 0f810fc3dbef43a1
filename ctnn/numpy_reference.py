"""The same algorithms in plain NumPy, straight from the equations: a reference for
tests (the compiled engine must agree) and benchmarks (it must be faster).

States are units-major (N, B), as in the engine.
"""

import numpy as np

from .network import drho, rho


def field(net, theta, x, s, c=None, beta=0.0, u1=None):
    """ds/dt of ALGORITHMS.md §1, layer by layer."""
    out = np.zeros_like(s)
    for ell in range(1, net.L + 1):
        below = x if ell == 1 else net.activity(s, ell - 1)
        pre = net.view(theta, f"W{ell}") @ below + net.view(theta, f"b{ell}")[:, None]
        if ell < net.L and net.connectivity != "feedforward":
            Bm = net.view(theta, f"W{ell + 1}").T if net.connectivity == "symmetric" else net.view(theta, f"B{ell}")
            pre = pre + Bm @ net.activity(s, ell + 1)
        sl = net.layer(s, ell)
        o = drho(sl, net.activation) * pre - sl
        if ell == 1 and u1 is not None:
            o = o + u1
        if ell == net.L and c is not None:
            o = o + beta * drho(sl, net.activation) * (c - rho(sl, net.activation))
        net.layer(out, ell)[...] = o
    return out


def relax(net, theta, x, s, steps, eps, **signal):
    """``steps`` projected Euler steps: s ← P(s + ε f(s))."""
    lo, hi = net.bounds
    for _ in range(steps):
        s = np.clip(s + eps * field(net, theta, x, s, **signal), lo, hi)
    return s


def contrastive_update(net, theta, x, s_a, s_b, scales):
    """θ += scale_ℓ · ⟨ρ(s_b,ℓ)ρ(s_b,ℓ−1)ᵀ − ρ(s_a,ℓ)ρ(s_a,ℓ−1)ᵀ⟩ for every layer."""
    B = x.shape[1]
    below_a = below_b = x
    for ell in range(1, net.L + 1):
        post_a, post_b = net.activity(s_a, ell), net.activity(s_b, ell)
        net.view(theta, f"W{ell}")[...] += scales[ell - 1] * (post_b @ below_b.T - post_a @ below_a.T) / B
        net.view(theta, f"b{ell}")[...] += scales[ell - 1] * (post_b - post_a).mean(axis=1)
        below_a, below_b = post_a, post_b


def ep_step(net, theta, x, c, s_init, beta, lr, free_steps, nudged_steps, eps):
    """One-sided EP with a given β: free phase, nudged phase, Hebbian update. Returns s⁰."""
    s0 = relax(net, theta, x, s_init, free_steps, eps)
    sb = relax(net, theta, x, s0, nudged_steps, eps, c=c, beta=beta)
    contrastive_update(net, theta, x, s0, sb, np.asarray(lr) / beta)
    return s0


def sigprop_step(net, theta, S, x, c, s_init, gamma, beta, lr, free_steps, signal_steps, eps):
    """Sigprop with the error signal and the output nudge (the preset's variant). Returns s⁰."""
    s0 = relax(net, theta, x, s_init, free_steps, eps)
    u1 = gamma * S @ (c - net.activity(s0, net.L))
    sg = relax(net, theta, x, s0, signal_steps, eps, c=c, beta=beta, u1=u1)
    scales = np.asarray(lr, dtype=float) / gamma
    scales[-1] = lr[-1] / beta
    contrastive_update(net, theta, x, s0, sg, scales)
    return s0
