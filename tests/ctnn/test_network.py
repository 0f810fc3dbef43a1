"""The network's compiled vector field, energy and initialisation."""

import numpy as np
import pytest

from ctnn import ACTIVATIONS, CONNECTIVITIES, Network, layered_field
from ctnn.phases import free_phase, solver_options
from ctnn.config import DEFAULTS

from ctnn import numpy_reference as reference


def _setup(act, conn, seed=0, B=7):
    rng = np.random.default_rng(seed)
    net = Network((6, 5, 4, 3), act, conn)
    theta = net.init(rng) + 0.1 * rng.standard_normal(net.n_params)
    x = rng.uniform(0, 1, (6, B))
    s = rng.uniform(-0.2, 1.2, (net.n_units, B))
    c = np.eye(3)[:, rng.integers(0, 3, B)]
    return net, theta, x, s, c, rng


@pytest.mark.parametrize("conn", CONNECTIVITIES)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_compiled_field_matches_the_equation(act, conn):
    net, theta, x, s, c, rng = _setup(act, conn)
    u1 = rng.standard_normal((5, s.shape[1]))
    data = net.data(theta, x, c, 0.7, u1)
    out = np.zeros_like(s)
    layered_field(s, theta, net.meta, data, out, -1)
    ref = reference.field(net, theta, x, s, c, 0.7, u1)
    assert np.allclose(out, ref, rtol=0, atol=1e-13)
    by_block = np.zeros_like(s)
    for k in range(net.L):
        layered_field(s, theta, net.meta, data, by_block, k)
    assert np.allclose(by_block, ref, rtol=0, atol=1e-13)


def test_field_is_minus_energy_gradient_for_symmetric_networks():
    net, theta, x, s, c, _ = _setup("logistic", "symmetric")
    out = np.zeros_like(s)
    layered_field(s, theta, net.meta, net.data(theta, x), out, -1)
    grad = np.zeros_like(s)
    h = 1e-6
    for i in range(s.shape[0]):
        e = np.zeros_like(s)
        e[i] = h
        grad[i] = (net.energy(theta, x, s + e) - net.energy(theta, x, s - e)) / (2 * h)
    assert np.allclose(out, -grad, atol=1e-7)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_energy_never_increases_along_the_free_phase(act):
    net, theta, x, _, _, rng = _setup(act, "symmetric")
    theta *= 3.0  # strong coupling: a non-trivial descent
    s0 = net.zeros(x.shape[1]) if act == "hard_sigmoid" else rng.standard_normal((net.n_units, x.shape[1]))
    opts = solver_options({**DEFAULTS["free"], "step": 0.01, "max_steps": 2000}, net)
    result, _ = free_phase(net, theta, x, s0, opts, record_every=1)
    E = np.array([net.energy(theta, x, y) for y in result.trajectory.y])
    assert np.all(np.diff(E, axis=0) <= 1e-12)
    assert np.all(E[-1] < E[0])


def test_energy_needs_symmetric_connectivity():
    net, theta, x, s, _, _ = _setup("tanh", "asymmetric")
    with pytest.raises(ValueError, match="symmetric"):
        net.energy(theta, x, s)


def test_glorot_uniform_init_bounds_and_zero_biases():
    net = Network((784, 500, 10), connectivity="asymmetric")
    theta = net.init(np.random.default_rng(0))
    for name, (_, shape) in net.shapes.items():
        v = net.view(theta, name)
        if name.startswith("b"):
            assert np.all(v == 0)
        else:
            limit = np.sqrt(6 / sum(shape))
            assert np.abs(v).max() <= limit and np.abs(v).max() > 0.95 * limit
            assert abs(v.mean()) < 0.01 * limit


def test_hard_sigmoid_unit_at_zero_can_rise():
    """ρ′ = 1 on the closed interval: a unit sitting at 0 with positive input moves."""
    net = Network((1, 1, 1), "hard_sigmoid", "feedforward")
    theta = net.init(np.random.default_rng(0))
    net.view(theta, "W1")[...] = 1.0
    out = np.zeros((2, 1))
    layered_field(np.zeros((2, 1)), theta, net.meta, net.data(theta, np.ones((1, 1))), out, -1)
    assert out[0, 0] == 1.0
    # an output at 0 nudged toward the target 1 rises too (u_L = β ρ′(0)(1 − 0) = β)
    net.view(theta, "W1")[...] = 0.0
    layered_field(np.zeros((2, 1)), theta, net.meta, net.data(theta, np.ones((1, 1)), np.ones((1, 1)), 0.5), out, -1)
    assert out[1, 0] == 0.5


def test_bad_network_declarations():
    with pytest.raises(ValueError, match="sizes"):
        Network((784, 0, 10))
    with pytest.raises(ValueError, match="activation"):
        Network((4, 3), activation="relu")
    with pytest.raises(ValueError, match="connectivity"):
        Network((4, 3), connectivity="dense")
