"""A training step of the compiled engine equals the plain NumPy reference."""

import numpy as np
import pytest

from ctnn import config
from ctnn import numpy_reference as ref
from ctnn.learning import ep_step, sigprop_step
from ctnn.train import build, new_state, one_hot


def _setup(preset, *sets):
    cfg = config.resolve(preset, sets=["data.dataset=digits", "model.hidden=[40]", *sets])
    dataset, net = build(cfg)
    state = new_state(cfg, net, 0)
    x = np.ascontiguousarray(dataset.x_train[:20].T)
    c = one_hot(dataset.y_train[:20], 10, net.dtype)
    s_init = np.random.default_rng(0).uniform(0, 1, (net.n_units, 20))
    return cfg, net, state, x, c, s_init


@pytest.mark.parametrize("conn", ["symmetric", "asymmetric", "feedforward"])
def test_ep_step_matches_numpy(conn):
    cfg, net, state, x, c, s_init = _setup("ep-1h", "learning.beta_sign=positive", f"model.connectivity={conn}",
                                           "learning.lr=[0.1, 0.05]")
    theta_np = state.theta.copy()
    free, _ = ep_step(net, state.theta, x, c, s_init, cfg, np.random.default_rng(0))
    s0 = ref.ep_step(net, theta_np, x, c, s_init, 1.0, [0.1, 0.05], 20, 4, 0.5)
    assert np.allclose(free.y, s0, rtol=0, atol=1e-12)
    assert np.allclose(state.theta, theta_np, rtol=0, atol=1e-12)
    assert not np.array_equal(theta_np, new_state(cfg, net, 0).theta)  # something was learned


def test_sigprop_step_matches_numpy():
    cfg, net, state, x, c, s_init = _setup("sigprop-1h", "learning.lr=[0.05, 0.05]")
    theta_np = state.theta.copy()
    free, _ = sigprop_step(net, state.theta, state.S, x, c, s_init, cfg, np.random.default_rng(0))
    s0 = ref.sigprop_step(net, theta_np, state.S, x, c, s_init, 0.1, 1.0, [0.05, 0.05], 20, 4, 0.5)
    assert np.allclose(free.y, s0, rtol=0, atol=1e-12)
    assert np.allclose(state.theta, theta_np, rtol=0, atol=1e-12)


def test_random_sign_of_beta_uses_both_signs():
    cfg, net, state, x, c, s_init = _setup("ep-1h")
    rng = np.random.default_rng(0)
    deltas = []
    for _ in range(12):
        theta = state.theta.copy()
        ep_step(net, theta, x, c, s_init, cfg, rng)
        deltas.append(theta - state.theta)
    # the update at −β is not the update at +β: both signs occur among 12 draws
    assert len({np.round(d[:50], 12).tobytes() for d in deltas}) == 2
