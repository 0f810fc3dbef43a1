"""The integrators on real networks: against solve_ivp, and agreeing on the fixed point."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from ctnn import Network, layered_field
from solvers import METHODS, SETTLED, settle

from ctnn import numpy_reference as reference


def _net(act, conn="symmetric", seed=0, B=4):
    rng = np.random.default_rng(seed)
    net = Network((5, 4, 3, 2), act, conn)
    theta = 1.5 * net.init(rng) + 0.2 * rng.standard_normal(net.n_params)
    x = rng.uniform(0, 1, (5, B))
    return net, theta, x


@pytest.mark.parametrize("method", ["euler", "heun", "rk4", "dopri5"])
@pytest.mark.parametrize("conn", ["symmetric", "asymmetric"])
def test_small_ctnn_matches_solve_ivp(method, conn):
    net, theta, x = _net("tanh", conn)
    s0 = np.random.default_rng(1).uniform(-0.5, 0.5, (net.n_units, x.shape[1]))
    T = 3.0
    step = {"euler": 1e-4, "heun": 1e-3, "rk4": 1e-2, "dopri5": 0.05}[method]
    r = settle(layered_field, s0, theta, net.meta, net.data(theta, x), method=method, step=step,
               check=False, max_steps=10**6, t_max=T, step_atol=1e-12, step_rtol=1e-10)
    tol = {"euler": 1e-4, "heun": 1e-6, "rk4": 1e-8, "dopri5": 1e-8}[method]
    for j in range(x.shape[1]):
        rhs = lambda t, y: reference.field(net, theta, x[:, [j]], y[:, None])[:, 0]  # noqa: E731
        ref = solve_ivp(rhs, (0, T), s0[:, j], method="DOP853", rtol=1e-12, atol=1e-12)
        assert np.abs(r.y[:, j] - ref.y[:, -1]).max() < tol


@pytest.mark.parametrize("act", ["hard_sigmoid", "logistic"])
def test_every_integrator_settles_to_the_same_fixed_point(act):
    net, theta, x = _net(act)
    lo, hi = net.bounds
    results = {}
    for method in METHODS:
        step = 1.0 if method == "fixed_point" else 0.3
        r = settle(layered_field, net.zeros(x.shape[1]), theta, net.meta, net.data(theta, x),
                   method=method, step=step, atol=1e-10, max_steps=100000, lo=lo, hi=hi,
                   blocks=net.blocks, step_atol=1e-12, step_rtol=1e-10)
        assert np.all(r.status == SETTLED), (method, r.status, r.residual)
        results[method] = r.y
    ref = results["euler"]
    for method, y in results.items():
        assert np.abs(y - ref).max() < 1e-6, method


def test_fixed_step_euler_is_the_original_n_steps_of_epsilon():
    """Euler with projection, no stopping test: s ← clip(s + ε f(s), 0, 1), N times."""
    net, theta, x = _net("hard_sigmoid", B=6)
    c = np.eye(2)[:, [0, 1, 0, 1, 1, 0]]
    data = net.data(theta, x, c, 0.5)
    r = settle(layered_field, net.zeros(6), theta, net.meta, data, method="euler", step=0.5,
               check=False, max_steps=20, lo=0.0, hi=1.0)
    s = net.zeros(6)
    for _ in range(20):
        s = np.clip(s + 0.5 * reference.field(net, theta, x, s, c, 0.5), 0.0, 1.0)
    assert np.all(r.steps == 20)
    assert np.abs(r.y - s).max() < 1e-14
