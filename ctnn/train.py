"""The training loop: minibatches, epochs, metrics, checkpoints, a run directory.

Each step reads straight through: batch (x, c) -> free phase -> signal phase -> Hebbian
rule -> θ. Each epoch appends one line to metrics.jsonl and rewrites checkpoint.npz.
"""

import json
import os
import resource
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from solvers import LIMIT

from . import data as datasets
from .config import ConfigError, dumps, validate
from .learning import ep_step, gradient_step, sigprop_step
from .network import Network
from .phases import free_phase, solver_options
from .threads import blas_threads, default_threads

LIMIT_WARNING = 0.01
STEPS = {"ep": ep_step, "gradient": gradient_step}


@dataclass
class TrainState:
    """Everything a run needs to continue bit-identically."""

    theta: np.ndarray
    S: np.ndarray | None  # sigprop's projection of the target, (n_1, K)
    particles: np.ndarray | None  # persistent free states, (n_train, N)
    epoch: int
    rng: np.random.Generator


def build(cfg, dataset=None):
    """Dataset and network of a resolved configuration; sizes checked against the data."""
    d = cfg["data"]
    if dataset is None:
        dataset = datasets.load(d["dataset"], d["split"], d["dir"] or None, cfg["model"]["dtype"])
    m = cfg["model"]
    for key, actual in (("inputs", dataset.n_inputs), ("outputs", dataset.n_classes)):
        if m[key] not in (0, actual):
            raise ConfigError(f"model.{key} = {m[key]} but dataset {dataset.name} has {actual}")
        m[key] = actual
    net = Network((m["inputs"], *m["hidden"], m["outputs"]), m["activation"], m["connectivity"], m["dtype"])
    cfg["_opts"] = {p: solver_options(cfg[p], net) for p in ("free", "signal", "eval")}
    return dataset, net


def new_state(cfg, net, n_train):
    rng = np.random.default_rng(cfg["train"]["seed"])
    theta = net.init(rng)
    S = None
    if cfg["learning"]["algorithm"] == "sigprop":
        n1, K = net.sizes[1], net.sizes[-1]
        limit = np.sqrt(6.0 / (n1 + K))
        S = rng.uniform(-limit, limit, size=(n1, K)).astype(net.dtype)
    particles = net.zeros(n_train).T.copy() if cfg["train"]["init_state"] == "persistent" else None
    return TrainState(theta, S, particles, 0, rng)


def one_hot(labels, K, dtype):
    c = np.zeros((K, labels.size), dtype=dtype)
    c[labels, np.arange(labels.size)] = 1.0
    return c


def evaluate(net, theta, x, y, cfg):
    """Error of the settled free phase (no signal) on (x, y), and its settle statistics."""
    ev = cfg["eval"]
    opts = cfg["_opts"]["eval"]
    wrong, steps, limit, residual = 0, 0, 0, 0.0
    for start in range(0, len(y), ev["batch_size"]):
        xb = x[start : start + ev["batch_size"]].T
        s_init = net.feedforward(theta, xb) if ev["init"] == "feedforward" else net.zeros(xb.shape[1])
        result, _ = free_phase(net, theta, xb, s_init, opts)
        pred = np.argmax(net.output(result.y), axis=0)
        wrong += int(np.sum(pred != y[start : start + ev["batch_size"]]))
        steps += int(result.steps.sum())
        limit += int(np.sum(result.status == LIMIT))
        residual += float(result.residual.sum())
    n = max(len(y), 1)
    return {"error": wrong / n, "steps": steps / n, "limit": limit / n, "residual": residual / n}


def train_epoch(net, state, dataset, cfg, progress=True):
    """One pass over the training set in a fresh random order; returns epoch metrics."""
    tr = cfg["train"]
    x_all, y_all = dataset.x_train, dataset.y_train
    K = net.sizes[-1]
    order = state.rng.permutation(len(y_all))
    sums = {"wrong": 0, "steps_free": 0, "steps_signal": 0, "nfev_free": 0, "nfev_signal": 0,
            "residual_free": 0.0, "limit_free": 0, "limit_signal": 0, "n_signal": 0}
    algorithm = cfg["learning"]["algorithm"]
    batches = range(0, len(order), tr["batch_size"])
    for start in tqdm(batches, desc=f"epoch {state.epoch + 1}", unit="batch", disable=not progress, leave=False):
        idx = order[start : start + tr["batch_size"]]
        x = x_all[idx].T
        c = one_hot(y_all[idx], K, net.dtype)
        if tr["init_state"] == "persistent":
            s_init = np.ascontiguousarray(state.particles[idx].T)
        elif tr["init_state"] == "feedforward":
            s_init = net.feedforward(state.theta, x)
        else:
            s_init = net.zeros(len(idx))
        if algorithm == "sigprop":
            free, signals = sigprop_step(net, state.theta, state.S, x, c, s_init, cfg, state.rng)
        else:
            free, signals = STEPS[algorithm](net, state.theta, x, c, s_init, cfg, state.rng)
        if state.particles is not None:
            state.particles[idx] = free.y.T
        sums["wrong"] += int(np.sum(np.argmax(net.output(free.y), axis=0) != y_all[idx]))
        sums["steps_free"] += int(free.steps.sum())
        sums["nfev_free"] += int(free.nfev.sum())
        sums["residual_free"] += float(free.residual.sum())
        sums["limit_free"] += int(np.sum(free.status == LIMIT))
        for sig in signals:
            sums["steps_signal"] += int(sig.steps.sum())
            sums["nfev_signal"] += int(sig.nfev.sum())
            sums["limit_signal"] += int(np.sum(sig.status == LIMIT))
            sums["n_signal"] += sig.status.size
    if not np.all(np.isfinite(state.theta)):
        raise FloatingPointError("parameters became non-finite; lower the learning rates")
    n, ns = len(order), max(sums["n_signal"], 1)
    state.epoch += 1
    return {
        "train_error": sums["wrong"] / n,
        "steps_free": sums["steps_free"] / n,
        "steps_signal": sums["steps_signal"] / ns,
        "nfev_free": sums["nfev_free"] / n,
        "nfev_signal": sums["nfev_signal"] / ns,
        "residual_free": sums["residual_free"] / n,
        "limit_free": sums["limit_free"] / n,
        "limit_signal": sums["limit_signal"] / ns,
    }


def save_checkpoint(path, state, cfg):
    """Write atomically: a temporary file, fsync, rename over the old checkpoint."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    arrays = {"theta": state.theta, "epoch": np.array(state.epoch)}
    if state.S is not None:
        arrays["S"] = state.S
    if state.particles is not None:
        arrays["particles"] = state.particles
    public = {k: v for k, v in cfg.items() if not k.startswith("_")}
    arrays["config"] = np.array(json.dumps(public))
    arrays["rng"] = np.array(json.dumps(state.rng.bit_generator.state))
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path):
    """(config, TrainState) from a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.npz"
    if not path.is_file():
        raise ConfigError(f"no checkpoint at {path}")
    try:
        return _read_checkpoint(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"{path} is not a readable ctnn checkpoint ({exc})") from exc


def _read_checkpoint(path):
    with np.load(path, allow_pickle=False) as z:
        cfg = json.loads(str(z["config"]))
        rng = np.random.default_rng()
        rng.bit_generator.state = json.loads(str(z["rng"]))
        state = TrainState(
            z["theta"].copy(),
            z["S"].copy() if "S" in z else None,
            z["particles"].copy() if "particles" in z else None,
            int(z["epoch"]),
            rng,
        )
    return cfg, state


def _limit_warning(metrics, cfg):
    for phase in ("free", "signal"):
        frac = metrics[f"limit_{phase}"]
        if cfg[phase]["check"] and frac > LIMIT_WARNING:
            warnings.warn(
                f"{100 * frac:.1f}% of {phase}-phase relaxations hit the step limit "
                f"({phase}.max_steps = {cfg[phase]['max_steps']}) before settling",
                RuntimeWarning,
                stacklevel=3,
            )


def train(cfg, out_dir, dataset=None, progress=True, state=None, log=print):
    """Train for cfg.train.epochs epochs (from ``state`` when resuming); write the run."""
    with blas_threads(default_threads()):
        return _train(cfg, out_dir, dataset, progress, state, log)


def _train(cfg, out_dir, dataset, progress, state, log):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dataset, net = build(cfg, dataset)
    public = {k: v for k, v in cfg.items() if not k.startswith("_")}
    (out / "config.json").write_text(dumps(public) + "\n")
    if state is None:
        state = new_state(cfg, net, len(dataset.y_train))
        (out / "metrics.jsonl").write_text("")
    else:  # resuming: epochs after the checkpoint's are redone, bit for bit
        kept = [line for line in _read_lines(out / "metrics.jsonl") if json.loads(line)["epoch"] <= state.epoch]
        (out / "metrics.jsonl").write_text("".join(kept))
    history = []
    while state.epoch < cfg["train"]["epochs"]:
        t0 = time.perf_counter()
        metrics = train_epoch(net, state, dataset, cfg, progress)
        seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        ev = evaluate(net, state.theta, dataset.x_eval, dataset.y_eval, cfg)
        line = {
            "epoch": state.epoch,
            "train_error": metrics["train_error"],
            "test_error": ev["error"],
            "seconds": seconds,
            "eval_seconds": time.perf_counter() - t1,
            **{k: v for k, v in metrics.items() if k != "train_error"},
            "steps_eval": ev["steps"],
            "limit_eval": ev["limit"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }
        _limit_warning(metrics, cfg)
        # metrics first: a crash between the two leaves a line that resuming rewrites
        with open(out / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(line) + "\n")
        save_checkpoint(out / "checkpoint.npz", state, cfg)
        history.append(line)
        log(
            f"epoch {line['epoch']:3d}  train {100 * line['train_error']:6.2f}%  "
            f"{dataset.eval_split} {100 * line['test_error']:6.2f}%  {seconds:6.1f}s  "
            f"steps {line['steps_free']:.1f}+{line['steps_signal']:.1f}"
        )
    return net, state, history


def _read_lines(path):
    return [line + "\n" for line in Path(path).read_text().splitlines() if line.strip()] if Path(path).is_file() else []


def resume(run_dir, epochs=None, data_dir=None, progress=True, log=print):
    """Continue a run from its last checkpoint (to ``epochs`` if given)."""
    cfg, state = load_checkpoint(run_dir)
    if epochs is not None:
        cfg["train"]["epochs"] = epochs
    if data_dir is not None:
        cfg["data"]["dir"] = data_dir
    validate(cfg)
    return train(cfg, run_dir, progress=progress, state=state, log=log)
