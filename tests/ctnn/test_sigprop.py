"""Signal propagation: it learns with a feedforward network, and its updates are local."""

import numpy as np
import pytest

from ctnn import Network, config
from ctnn.learning import sigprop_step
from ctnn.phases import free_phase, signal_phase, sigprop_signal, solver_options
from ctnn.train import build, evaluate, new_state, one_hot, train


def _cfg(*sets, preset="sigprop-ff-1h"):
    return config.resolve(preset, sets=["data.dataset=digits", "model.hidden=[64]", *sets])


def test_feedforward_sigprop_learns_digits_far_below_chance(tmp_path):
    # measured (seeds 0, 1, 2): 6.2%, 5.9%, 6.2% error on the digits validation split after
    # 8 epochs; chance is 90%. The bound leaves room for the seed-to-seed spread.
    cfg = _cfg("train.epochs=8", "model.hidden=[256]")
    net, state, history = train(cfg, tmp_path, progress=False, log=lambda *_: None)
    assert net.connectivity == "feedforward"
    assert history[-1]["test_error"] < 0.12
    assert history[-1]["test_error"] < history[0]["test_error"]


def test_inference_is_the_free_phase_alone(tmp_path):
    cfg = _cfg("train.epochs=1")
    dataset, net = build(cfg)
    state = new_state(cfg, net, len(dataset.y_train))
    before = evaluate(net, state.theta, dataset.x_eval, dataset.y_eval, cfg)
    state.S[...] = 1e6  # the projection is used only in the signal phase
    after = evaluate(net, state.theta, dataset.x_eval, dataset.y_eval, cfg)
    assert before == after


def _one_step(cfg, theta, S, x, c, s_init, net):
    theta = theta.copy()
    sigprop_step(net, theta, S.copy(), x, c, s_init.copy(), cfg, np.random.default_rng(0))
    return theta


@pytest.mark.parametrize("nudge", [True, False])
def test_layer_updates_never_read_the_layers_above(nudge):
    """Feedforward sigprop with the target signal: scrambling every parameter above
    layer ℓ leaves the updates of layers 1 … ℓ bit for bit unchanged."""
    cfg = _cfg("learning.signal=target", f"learning.output_nudge={str(nudge).lower()}",
               "model.hidden=[6, 5]", "learning.lr=[0.1, 0.1, 0.1]")
    cfg["model"]["inputs"], cfg["model"]["outputs"] = 7, 3
    net = Network((7, 6, 5, 3), "hard_sigmoid", "feedforward")
    cfg["_opts"] = {p: solver_options(cfg[p], net) for p in ("free", "signal", "eval")}
    rng = np.random.default_rng(0)
    theta = net.init(rng)
    S = rng.uniform(-1, 1, (6, 3))
    x = rng.uniform(0, 1, (7, 4))
    c = one_hot(np.array([0, 2, 1, 2]), 3, np.float64)
    s_init = rng.uniform(0, 1, (net.n_units, 4))
    reference = _one_step(cfg, theta, S, x, c, s_init, net) - theta
    for ell in range(1, net.L):
        scrambled = theta.copy()
        for above in range(ell + 1, net.L + 1):
            for name in (f"W{above}", f"b{above}"):
                net.view(scrambled, name)[...] = rng.uniform(-3, 3, net.view(scrambled, name).shape)
        s_scrambled = s_init.copy()
        for above in range(ell + 1, net.L + 1):
            net.layer(s_scrambled, above)[...] = rng.uniform(0, 1, net.layer(s_scrambled, above).shape)
        delta = _one_step(cfg, scrambled, S, x, c, s_scrambled, net) - scrambled
        for below in range(1, ell + 1):
            for name in (f"W{below}", f"b{below}"):
                assert np.array_equal(net.view(delta, name), net.view(reference, name)), (ell, name)


def test_error_signal_enters_only_at_the_front():
    """With the error signal, the output's free state reaches layer 1 only through u_1:
    given u_1, the signal phase of layers 1 … ℓ ignores every parameter above ℓ."""
    net = Network((7, 6, 5, 3), "hard_sigmoid", "feedforward")
    cfg = _cfg("model.hidden=[6, 5]", "learning.lr=[0.1, 0.1, 0.1]")
    opts = {p: solver_options(cfg[p], net) for p in ("free", "signal")}
    rng = np.random.default_rng(1)
    theta = net.init(rng)
    S = rng.uniform(-1, 1, (6, 3))
    x = rng.uniform(0, 1, (7, 4))
    c = one_hot(np.array([0, 2, 1, 2]), 3, np.float64)
    free, data = free_phase(net, theta, x, net.zeros(4), opts["free"], c)
    u1 = sigprop_signal(S, c, net.output(free.y), 0.1, "error")
    assert np.allclose(u1, 0.1 * S @ (c - net.output(free.y)))
    sig = signal_phase(net, theta, data, free.y, u1, 1.0, opts["signal"])
    scrambled = theta.copy()
    net.view(scrambled, "W3")[...] = 5.0
    net.view(scrambled, "W2")[...] = -5.0
    sig2 = signal_phase(net, scrambled, data, free.y, u1, 1.0, opts["signal"])
    assert np.array_equal(net.layer(sig.y, 1), net.layer(sig2.y, 1))
