"""The exact gradient of the loss at the free fixed point, by implicit differentiation.

At a fixed point f(s⁰, θ) = 0 the loss L(θ) = C(s⁰(θ)), C = ½‖ρ(s_L) − c‖², has
dL/dθ = λᵀ ∂f/∂θ with the adjoint λ solving Jᵀλ = −∂C/∂s, J = ∂f/∂s at s⁰.
Units held at a bound of the hard sigmoid's box are constrained (ds = 0 there), so J,
λ and ∂C/∂s are restricted to the free units; ``straight_through`` lets the units of the
output layer ("output") or of every layer ("all") pass the gradient as if ρ′ = 1 on the
closed interval [0, 1], the engine's convention. The adjoint is solved by damped
iteration λ ← λ + ε(Jᵀλ + ∂C/∂s) using only the layers' products — the same
contraction that makes the free phase settle — so nothing of size N² is formed.
NumPy only: the ceiling that the Hebbian rules are compared with.
"""

import numpy as np

from .network import drho, rho


def _second_derivative(s, activation):
    if activation == "hard_sigmoid":
        return np.zeros_like(s)
    r = rho(s, activation)
    if activation == "logistic":
        return r * (1 - r) * (1 - 2 * r)
    return -2 * r * (1 - r * r)


def _preactivations(net, theta, x, s):
    """W_ℓ ρ(s_{ℓ−1}) + B_ℓ ρ(s_{ℓ+1}) + b_ℓ per layer (feedback as the connectivity says)."""
    pres = []
    for ell in range(1, net.L + 1):
        below = x if ell == 1 else net.activity(s, ell - 1)
        pre = net.view(theta, f"W{ell}") @ below + net.view(theta, f"b{ell}")[:, None]
        if ell < net.L and net.connectivity != "feedforward":
            pre += _feedback(net, theta, ell) @ net.activity(s, ell + 1)
        pres.append(pre)
    return pres


def _feedback(net, theta, ell):
    return net.view(theta, f"W{ell + 1}").T if net.connectivity == "symmetric" else net.view(theta, f"B{ell}")


STRAIGHT_THROUGH = ("none", "output", "all")


def _free_mask(net, s, straight_through):
    if straight_through not in STRAIGHT_THROUGH:
        raise ValueError(f"straight_through must be one of {STRAIGHT_THROUGH}, got {straight_through!r}")
    mask = np.ones_like(s)
    if net.activation != "hard_sigmoid" or straight_through == "all":
        return mask
    mask[...] = (s > 0.0) & (s < 1.0)
    if straight_through == "output":
        net.layer(mask, net.L)[...] = 1.0
    return mask


def adjoint(net, theta, x, c, s, eps=0.5, tol=1e-10, max_iter=5000, straight_through="none"):
    """λ with Jᵀλ = −∂C/∂s on the free units (0 on constrained ones), (N, B).

    A sample whose iteration has not converged after ``max_iter`` sweeps (its free phase
    was no stable fixed point, e.g. stopped at the step limit) gets λ = 0: no gradient
    rather than a wrong one. Returns (λ, number of such samples)."""
    act = net.activation
    mask = _free_mask(net, s, straight_through)
    d1 = drho(s, act) * mask  # ρ′ of free units: a constrained unit passes nothing on
    pres = _preactivations(net, theta, x, s)
    diag = np.concatenate([_second_derivative(net.layer(s, ell), act) * pres[ell - 1]
                           for ell in range(1, net.L + 1)]) - 1.0
    g = np.zeros_like(s)
    sL = net.layer(s, net.L)
    net.layer(g, net.L)[...] = drho(sL, act) * (rho(sL, act) - c)
    g *= mask
    lam = np.zeros_like(s)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(max_iter):
            step = (_jacobian_transpose_times(net, theta, d1, diag, lam) + g) * mask
            lam += eps * step
            size = np.sqrt(np.sum(step * step, axis=0))
            if np.all(size < tol):
                return lam, 0
            blown = ~np.isfinite(size) | (size > 1e8)
            lam[:, blown] = 0.0
            mask[:, blown] = 0.0
            g[:, blown] = 0.0
    bad = size >= tol
    lam[:, bad] = 0.0
    return lam, int(bad.sum())


def _jacobian_transpose_times(net, theta, d1, diag, lam):
    """Jᵀλ for J_ℓ,ℓ−1 = D_ℓ W_ℓ D_{ℓ−1}, J_ℓ,ℓ+1 = D_ℓ B_ℓ D_{ℓ+1}, J_ℓℓ = diag, D = diag(ρ′)."""
    out = diag * lam
    for ell in range(1, net.L + 1):
        lam_d = net.layer(d1, ell) * net.layer(lam, ell)  # D_ℓ λ_ℓ
        if ell > 1:  # column block ℓ−1 of row block ℓ
            net.layer(out, ell - 1)[...] += net.layer(d1, ell - 1) * (net.view(theta, f"W{ell}").T @ lam_d)
        if ell < net.L and net.connectivity != "feedforward":
            net.layer(out, ell + 1)[...] += net.layer(d1, ell + 1) * (_feedback(net, theta, ell).T @ lam_d)
    return out


def loss_gradient(net, theta, x, c, s, straight_through="none", **adjoint_options):
    """dL/dθ (the layout of θ), L the batch mean of ½‖ρ(s_L) − c‖², s a settled free state.

    By default units at a bound of the hard sigmoid are held there: the exact one-sided
    derivative, zero through them. ``straight_through`` (see the module docstring) lets
    the output layer's or every layer's units at a bound pass it on."""
    lam, _ = adjoint(net, theta, x, c, s, straight_through=straight_through, **adjoint_options)
    d1 = drho(s, net.activation) * _free_mask(net, s, straight_through)
    grad = np.zeros_like(theta)
    B = x.shape[1]
    for ell in range(1, net.L + 1):
        delta = net.layer(d1, ell) * net.layer(lam, ell)  # λ_ℓ ⊙ ρ′_ℓ
        below = x if ell == 1 else net.activity(s, ell - 1)
        gW = delta @ below.T
        if net.connectivity == "symmetric" and ell > 1:  # W_ℓᵀ is layer ℓ−1's feedback
            gW += net.activity(s, ell) @ (net.layer(d1, ell - 1) * net.layer(lam, ell - 1)).T
        net.view(grad, f"W{ell}")[...] = gW / B
        net.view(grad, f"b{ell}")[...] = delta.sum(axis=1) / B
    if net.connectivity == "asymmetric":
        for ell in range(1, net.L):
            delta = net.layer(d1, ell) * net.layer(lam, ell)
            net.view(grad, f"B{ell}")[...] = delta @ net.activity(s, ell + 1).T / B
    return grad
