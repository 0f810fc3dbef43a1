"""Throughput of training steps, beside the plain NumPy reference and the machine's GEMM rate.

Useful floating-point operations are counted from the layer sizes and steps (multiply-add
= 2): the input drive W_1 x once per batch, per step the products W_ℓ ρ(s_{ℓ−1}) (ℓ ≥ 2)
and the feedback B_ℓ ρ(s_{ℓ+1}), and the Hebbian outer products.
"""

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_limits

from . import config as configs
from . import numpy_reference as ref
from .learning import ep_step, sigprop_step
from .network import Network
from .phases import solver_options
from .threads import blas_threads


def flops_per_example(net, steps_free, steps_signal, signal_phases=1):
    n = net.sizes
    per_step = sum(2 * n[ell] * n[ell - 1] for ell in range(2, net.L + 1))
    if net.connectivity != "feedforward":
        per_step += sum(2 * n[ell] * n[ell + 1] for ell in range(1, net.L))
    hebbian = 2 * n[1] * n[0] + sum(4 * n[ell] * n[ell - 1] for ell in range(2, net.L + 1))
    return 2 * n[1] * n[0] + (steps_free + signal_phases * steps_signal) * per_step + hebbian


def gemm_gflops(shapes, dtype, windows=5, seconds=0.1):
    """Measured rate (GFLOP/s) of numpy matmuls of the given (m, k, n) shapes, all together:
    the best of several short windows, so that a moment of other load does not lower it."""
    rng = np.random.default_rng(0)
    mats = [(rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)) for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)
    best = 0.0
    for _ in range(windows):
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for a, b in mats:
                a @ b
            reps += 1
        best = max(best, reps * flops / (time.perf_counter() - t0) / 1e9)
    return best


def compile_seconds():
    """(cold, warm): seconds to import the engine and run a first settle with an empty
    Numba cache (everything compiled), and again with that cache filled."""
    code = ("import time; t=time.perf_counter(); import numpy as np; from ctnn import Network, layered_field; "
            "from solvers import settle; n=Network((4,3,2)); th=n.init(np.random.default_rng(0)); "
            "settle(layered_field, n.zeros(2), th, n.meta, n.data(th, np.ones((4,2))), max_steps=3); "
            "print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = [float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                      check=True).stdout) for _ in range(2)]
    return times[0], times[1]


def _batches(net, batch, examples, rng):
    K = net.sizes[-1]
    x = rng.random((batch, net.sizes[0])).astype(net.dtype).T  # as training slices it
    labels = rng.integers(0, K, batch)
    c = np.zeros((K, batch), net.dtype)
    c[labels, np.arange(batch)] = 1
    return x, c, max(1, examples // batch)


def run(preset="ep-1h", batch=20, dtype="float32", examples=4000, numpy_examples=None, repeats=3, threads=1):
    """One configuration: a dict of throughput figures (median over ``repeats`` runs),
    engine and NumPy both with ``threads`` BLAS threads (:mod:`ctnn.threads`)."""
    result, shapes = _run(preset, batch, dtype, examples, numpy_examples, repeats, threads)
    result["threads"] = threads
    # the limit: the same GEMM shapes with the same threads, and with every core
    with threadpool_limits(limits=threads, user_api="blas"):
        result["peak_gflops"] = gemm_gflops(shapes, dtype)
    result["peak_gflops_all_cores"] = gemm_gflops(shapes, dtype)
    return result


def _run(preset, batch, dtype, examples, numpy_examples, repeats, threads):
    cfg = configs.resolve(preset, None, [f"model.dtype={dtype}", f"train.batch_size={batch}"])
    m = cfg["model"]
    net = Network((784, *m["hidden"], 10), m["activation"], m["connectivity"], dtype)
    cfg["_opts"] = {p: solver_options(cfg[p], net) for p in ("free", "signal", "eval")}
    rng = np.random.default_rng(0)
    theta = net.init(rng)
    S = (rng.uniform(-0.1, 0.1, (net.sizes[1], 10))).astype(dtype)
    x, c, n_batches = _batches(net, batch, examples, rng)
    s_init = net.zeros(batch)
    ln = cfg["learning"]
    algorithm = ln["algorithm"]

    def engine_epoch():
        steps = [0, 0]
        for _ in range(n_batches):
            if algorithm == "ep":
                free, sigs = ep_step(net, theta, x, c, s_init, cfg, rng)
            else:
                free, sigs = sigprop_step(net, theta, S, x, c, s_init, cfg, rng)
            steps[0] += free.steps.mean()
            steps[1] += np.mean([s.steps.mean() for s in sigs])
        return steps[0] / n_batches, steps[1] / n_batches

    with blas_threads(threads):
        t0 = time.perf_counter()
        steps_free, steps_signal = engine_epoch()  # also warms caches and BLAS
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            engine_epoch()
            times.append(time.perf_counter() - t0)
    n_ex = n_batches * batch
    eps = cfg["free"]["step"]

    def numpy_epoch(nb):
        for _ in range(nb):
            if algorithm == "ep":
                ref.ep_step(net, theta, x, c, s_init, ln["beta"], ln["lr"], cfg["free"]["max_steps"],
                            cfg["signal"]["max_steps"], eps)
            else:
                ref.sigprop_step(net, theta, S, x, c, s_init, ln["gamma"], ln["beta"], ln["lr"],
                                 cfg["free"]["max_steps"], cfg["signal"]["max_steps"], eps)

    nb_numpy = max(1, (numpy_examples or examples // 4) // batch)
    np_times = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(repeats):
            t0 = time.perf_counter()
            numpy_epoch(nb_numpy)
            np_times.append(time.perf_counter() - t0)
    phases = 2 if ln["beta_sign"] == "symmetric" and algorithm == "ep" else 1
    flops = flops_per_example(net, steps_free, steps_signal, phases)
    rate = n_ex / float(np.median(times))
    n = net.sizes
    shapes = [(n[1], n[0], batch)] + [(n[ell], n[ell - 1], batch) for ell in range(2, net.L + 1)]
    return {
        "preset": preset,
        "batch": batch,
        "dtype": dtype,
        "examples": n_ex,
        "examples_per_s": rate,
        "gflops": rate * flops / 1e9,
        "flops_per_example": flops,
        "steps_free": float(steps_free),
        "steps_signal": float(steps_signal),
        "numpy_examples_per_s": nb_numpy * batch / float(np.median(np_times)),
        "speedup_vs_numpy": rate / (nb_numpy * batch / float(np.median(np_times))),
        "first_epoch_seconds": first,
    }, shapes
