"""EP's Hebbian update is the gradient of the loss at the free fixed point (β → 0)."""

import numpy as np
import pytest

from ctnn import Network
from ctnn.config import DEFAULTS
from ctnn.learning import apply_contrastive
from ctnn.phases import free_phase, nudged_phase, solver_options

TIGHT = {**DEFAULTS["free"], "method": "rk4", "step": 0.2, "max_steps": 100000, "check": True, "atol": 1e-13}


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    net = Network((4, 3, 2), "logistic", "symmetric")
    theta = 2.0 * net.init(rng) + 0.3 * rng.standard_normal(net.n_params)
    x = rng.uniform(0, 1, (4, 3))
    c = np.eye(2)[:, [0, 1, 1]]
    return net, theta, x, c, solver_options(TIGHT, net)


def _settle(net, theta, x, c, opts):
    free, data = free_phase(net, theta, x, net.zeros(x.shape[1]), opts, c)
    assert np.all(free.settled)
    return free, data


def _loss(net, theta, x, c, opts):
    free, _ = _settle(net, theta, x, c, opts)
    return 0.5 * np.mean(np.sum((net.output(free.y) - c) ** 2, axis=0))


def _true_negative_gradient(net, theta, x, c, opts, h=1e-5):
    g = np.zeros_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        g[i] = (_loss(net, tp, x, c, opts) - _loss(net, tm, x, c, opts)) / (2 * h)
    return -g


def _ep_update(net, theta, x, c, opts, beta, symmetric):
    free, data = _settle(net, theta, x, c, opts)
    plus = nudged_phase(net, theta, data, free.y, beta, opts)
    low, scale = free, 1.0 / beta
    if symmetric:
        low, scale = nudged_phase(net, theta, data, free.y, -beta, opts), 1.0 / (2 * beta)
    delta = np.zeros_like(theta)
    apply_contrastive(net, delta, x, low.y, plus.y, np.full(net.L, scale))
    return delta


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_symmetric_nudging_matches_the_true_gradient(problem):
    net, theta, x, c, opts = problem
    truth = _true_negative_gradient(net, theta, x, c, opts)
    assert np.linalg.norm(truth) > 1e-3  # a non-trivial gradient
    ep = _ep_update(net, theta, x, c, opts, 1e-3, symmetric=True)
    assert _rel(ep, truth) < 0.01


def test_one_sided_error_shrinks_linearly_with_beta(problem):
    net, theta, x, c, opts = problem
    truth = _true_negative_gradient(net, theta, x, c, opts)
    betas = [0.2, 0.1, 0.05]
    errors = [_rel(_ep_update(net, theta, x, c, opts, b, symmetric=False), truth) for b in betas]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(np.abs(ratios - 2.0) < 0.3), (errors, ratios)
    sym = _rel(_ep_update(net, theta, x, c, opts, 0.05, symmetric=True), truth)
    assert sym < errors[-1] / 5  # symmetric nudging removes the O(β) bias


@pytest.mark.parametrize("act, conn", [("logistic", "symmetric"), ("tanh", "asymmetric"), ("logistic", "feedforward"),
                                       ("hard_sigmoid", "symmetric")])
def test_implicit_gradient_matches_finite_differences(act, conn):
    from ctnn.gradient import loss_gradient

    rng = np.random.default_rng(2)
    net = Network((4, 5, 3, 2), act, conn)
    theta = 1.5 * net.init(rng) + 0.3 * rng.standard_normal(net.n_params)
    if act == "hard_sigmoid":  # most units inside the box, some held at its bounds
        theta = 0.6 * net.init(rng)
    x = rng.uniform(0, 1, (4, 3))
    c = np.eye(2)[:, [0, 1, 1]]
    opts = solver_options(TIGHT, net)
    free, _ = _settle(net, theta, x, c, opts)
    if act == "hard_sigmoid":
        inside = np.mean((free.y > 0) & (free.y < 1))
        assert 0.3 < inside < 1.0, inside
    grad = loss_gradient(net, theta, x, c, free.y)
    truth = -_true_negative_gradient(net, theta, x, c, opts, h=1e-6)
    learned = np.ones(net.n_params, bool)
    if conn == "asymmetric":  # feedback arrays are not learned: compare W and b only
        for ell in range(1, net.L):
            off, shape = net.shapes[f"B{ell}"]
            learned[off : off + np.prod(shape)] = False
    assert np.linalg.norm(truth[learned]) > 1e-3
    assert _rel(grad[learned], truth[learned]) < 1e-4


@pytest.mark.parametrize("straight_through", ["none", "output", "all"])
def test_straight_through_passes_the_gradient_only_where_asked(straight_through):
    """Feedforward hard sigmoid: the settled state is a clipped forward pass, so the
    implicit gradient is backprop with ρ′ = 1 inside (0, 1) and, at a bound, 1 exactly in
    the layers that are straight-through."""
    from ctnn.gradient import loss_gradient

    rng = np.random.default_rng(3)
    net = Network((6, 8, 4), "hard_sigmoid", "feedforward")
    theta = 3.0 * net.init(rng)
    x = rng.uniform(0, 1, (6, 5))
    c = np.eye(4)[:, [0, 1, 2, 3, 0]]
    free, _ = _settle(net, theta, x, c, solver_options(TIGHT, net))
    h, o = net.layer(free.y, 1), net.layer(free.y, 2)
    assert np.any((h == 0) | (h == 1)) and np.any((o == 0) | (o == 1))  # bounds are exercised
    W1, W2 = net.view(theta, "W1"), net.view(theta, "W2")
    np.testing.assert_allclose(h, np.clip(W1 @ x + net.view(theta, "b1")[:, None], 0, 1), atol=1e-10)
    inside = lambda s: ((s > 0) & (s < 1)).astype(float)  # noqa: E731
    d_out = np.ones_like(o) if straight_through != "none" else inside(o)
    d_hid = np.ones_like(h) if straight_through == "all" else inside(h)
    g2 = d_out * (o - c)
    g1 = d_hid * (W2.T @ g2)
    grad = loss_gradient(net, theta, x, c, free.y, straight_through=straight_through)
    B = x.shape[1]
    np.testing.assert_allclose(net.view(grad, "W2"), g2 @ h.T / B, atol=1e-9)
    np.testing.assert_allclose(net.view(grad, "W1"), g1 @ x.T / B, atol=1e-9)
    np.testing.assert_allclose(net.view(grad, "b1"), g1.mean(axis=1), atol=1e-9)
