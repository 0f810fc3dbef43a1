"""One learning step of each algorithm: phases on a batch, then a local Hebbian update.

    batch (x, c) -> free phase -> s⁰ -> signal phase(s) -> s^β -> rule -> ΔW, Δb

Parameters θ are updated in place. Every function returns the free result (for the
prediction and persistent particles) and the signal-phase results (for the metrics).
"""

import numpy as np

from hebbian import contrastive_hebbian, vector_field_hebbian

from .gradient import loss_gradient
from .network import drho, rho
from .phases import free_phase, nudged_phase, sigprop_signal, signal_phase


def apply_contrastive(net, theta, x, s_a, s_b, scales):
    """θ += contrastive Hebbian update of every layer; scales[ℓ−1] multiplies layer ℓ."""
    pre_a = pre_b = x
    for ell in range(1, net.L + 1):
        post_a = net.activity(s_a, ell)
        post_b = net.activity(s_b, ell)
        out = (net.view(theta, f"W{ell}"), net.view(theta, f"b{ell}"))
        contrastive_hebbian(pre_a, post_a, pre_b, post_b, scales[ell - 1], out=out)
        pre_a, pre_b = post_a, post_b


def apply_vector_field(net, theta, x, s_a, s_b, scales):
    """θ += vector-field update of every layer (asymmetric EP)."""
    pre = x
    for ell in range(1, net.L + 1):
        sa, sb = net.layer(s_a, ell), net.layer(s_b, ell)
        dW, db = vector_field_hebbian(pre, sa, sb, drho(sa, net.activation), scales[ell - 1])
        net.view(theta, f"W{ell}")[...] += dW
        net.view(theta, f"b{ell}")[...] += db
        pre = rho(sa, net.activation)


def ep_step(net, theta, x, c, s_init, cfg, rng):
    """Equilibrium propagation: one-sided (β, random sign per minibatch, or positive) or
    symmetric nudging (±β, both from s⁰): ΔW_ℓ = (η_ℓ/β)⟨ρρ(β) − ρρ(0)⟩ or (η_ℓ/2β)⟨ρρ(+β) − ρρ(−β)⟩."""
    ln = cfg["learning"]
    free_opts, sig_opts = cfg["_opts"]["free"], cfg["_opts"]["signal"]
    free, data = free_phase(net, theta, x, s_init, free_opts, c)
    lr = np.asarray(ln["lr"])
    apply = apply_vector_field if ln["rule"] == "vector_field" else apply_contrastive
    if ln["beta_sign"] == "symmetric":
        beta = abs(ln["beta"])
        plus = nudged_phase(net, theta, data, free.y, beta, sig_opts)
        minus = nudged_phase(net, theta, data, free.y, -beta, sig_opts)
        apply(net, theta, x, minus.y, plus.y, lr / (2 * beta))
        return free, [plus, minus]
    beta = ln["beta"]
    if ln["beta_sign"] == "random" and rng.integers(2):
        beta = -beta
    nudged = nudged_phase(net, theta, data, free.y, beta, sig_opts)
    apply(net, theta, x, free.y, nudged.y, lr / beta)
    return free, [nudged]


def sigprop_step(net, theta, S, x, c, s_init, cfg, rng):
    """Signal propagation: u_1 = γ S e enters at the front and travels forward.

    Layers below the output learn with η_ℓ/γ; the output with η_L/β when it is nudged
    locally (its contrast is then β(c − ρ(s_L)) plus an O(γ) forward part), else η_L/γ,
    so a learning rate means about the same step in every variant. A learned S follows
    the Kolen–Pollack rule ΔS = η_S ⟨ρ(s₁⁰) eᵀ⟩, e = c − ρ(s_L⁰): each S connection sees
    only its two ends, and with η_S = η_L it receives the transpose of the output layer's
    delta-rule step, so S drifts toward W_Lᵀ and the error signal toward backprop's.
    """
    ln = cfg["learning"]
    free, data = free_phase(net, theta, x, s_init, cfg["_opts"]["free"], c)
    u1 = sigprop_signal(S, c, net.output(free.y), ln["gamma"], ln["signal"])
    beta = ln["beta"] if ln["output_nudge"] else 0.0
    sig = signal_phase(net, theta, data, free.y, u1, beta, cfg["_opts"]["signal"])
    gamma = ln["gamma"]
    scales = np.asarray(ln["lr"]) / gamma
    if ln["output_nudge"]:
        scales[-1] = ln["lr"][-1] / beta
    apply = apply_vector_field if ln["rule"] == "vector_field" else apply_contrastive
    apply(net, theta, x, free.y, sig.y, scales)
    if ln["projection"] == "learned":
        h0 = net.activity(free.y, 1)
        S += (ln["lr_projection"] / c.shape[1]) * (h0 @ (c - net.output(free.y)).T)
    return free, [sig]


def gradient_step(net, theta, x, c, s_init, cfg, rng):
    """The ceiling: θ −= η_ℓ dL/dθ_ℓ with the gradient at the free fixed point (implicit
    differentiation, :mod:`ctnn.gradient`): exact through the hidden units, straight-through
    at output units held at a bound. Exactly zero there, an output resting at 1 for a wrong
    class could never come down (MNIST plateaus near 12% error); straight-through in the
    hidden layers too, it plateaus near 7% (results/ceiling/README.md). Not local, not
    Hebbian: the reference the Hebbian rules are measured against."""
    free, _ = free_phase(net, theta, x, s_init, cfg["_opts"]["free"], c)
    grad = loss_gradient(net, theta, x, c, free.y, straight_through="output")
    for ell, eta in enumerate(cfg["learning"]["lr"], start=1):
        for name in (f"W{ell}", f"b{ell}"):
            net.view(theta, name)[...] -= eta * net.view(grad, name)
    return free, []
