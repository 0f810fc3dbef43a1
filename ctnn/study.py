"""Grids of ``ctnn train`` runs: each run its own process and run directory.

A row is a name and its ``ctnn train`` arguments; every run is one subprocess, so its
peak memory is its own and the exact command is recorded. A run directory whose
metrics already reach the requested epochs is reused, so an interrupted study continues.
"""

import csv
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Row:
    name: str
    args: list  # ctnn train arguments, without --out / --seed / --dataset
    notes: str = ""
    meta: dict = field(default_factory=dict)
    epochs: int | None = None  # a budget below the preset's (said in the notes)


def command(row, dataset, seed, out, epochs=None):
    epochs = epochs or row.epochs
    cmd = ["ctnn", "train", *row.args, *(["--dataset", dataset] if dataset else []), "--seed", str(seed),
           "--out", str(out), "--quiet"]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    return cmd


def read_metrics(run_dir):
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_one(cmd, out, data_dir=None, log=print, threads=None):
    """Run ``cmd`` (a ctnn train command) unless its run directory is complete.

    ``threads`` caps the BLAS threads of the run: runs side by side on a small machine
    must not each spin up a thread per core.
    """
    out = Path(out)
    done = out / "done.json"
    if done.is_file():
        return json.loads(done.read_text())
    argv = [sys.executable, "-m", "ctnn.cli", *cmd[1:]]
    if (out / "checkpoint.npz").is_file():  # interrupted: continue where it stopped
        argv = [sys.executable, "-m", "ctnn.cli", "train", "--resume", str(out), "--quiet"]
        if "--epochs" in cmd:
            argv += ["--epochs", cmd[cmd.index("--epochs") + 1]]
    if data_dir:
        argv += ["--data-dir", str(data_dir)]
    log(f"running: {shlex.join(cmd)}")
    t0 = time.perf_counter()
    env = dict(os.environ)
    if threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env[var] = str(threads)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, preexec_fn=_die_with_parent)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    info = {"command": shlex.join(cmd), "wall_seconds": time.perf_counter() - t0}
    done.write_text(json.dumps(info) + "\n")
    return info


def _die_with_parent():
    """In the child: get SIGKILL when the parent dies (Linux), so a killed Dask worker
    leaves no orphan run writing into a directory that a retry is about to use."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def test_error(run_dir, data_dir=None):
    """Error of a finished run's final parameters on the held-out test split (never seen
    while training or choosing settings), cached in ``test.json``."""
    from .config import validate
    from .train import build, evaluate, load_checkpoint

    path = Path(run_dir) / "test.json"
    if path.is_file():
        return json.loads(path.read_text())["error"]
    cfg, state = load_checkpoint(run_dir)
    cfg["data"]["split"] = "test"
    if data_dir:
        cfg["data"]["dir"] = str(data_dir)
    validate(cfg)
    dataset, net = build(cfg)
    error = evaluate(net, state.theta, dataset.x_eval, dataset.y_eval, cfg)["error"]
    path.write_text(json.dumps({"split": "test", "epoch": state.epoch, "error": error}) + "\n")
    return error


def summarise(row, dataset, runs):
    """One table row from the runs (seeds) of one (row, dataset)."""
    finals = [r["metrics"][-1] for r in runs]
    val = np.array([m["test_error"] for m in finals]) * 100  # metrics call the validation error test_error
    test = np.array([r["test_error"] for r in runs]) * 100
    train = np.array([m["train_error"] for m in finals]) * 100
    mean = lambda key: float(np.mean([m[key] for m in finals]))  # noqa: E731
    return {
        "method": row.name,
        "dataset": dataset,
        "seeds": len(runs),
        "test_error_mean": float(test.mean()),
        "test_error_std": float(test.std(ddof=1)) if len(test) > 1 else 0.0,
        "val_error_mean": float(val.mean()),
        "val_error_std": float(val.std(ddof=1)) if len(val) > 1 else 0.0,
        "best_val_error_mean": float(np.mean([min(m["test_error"] for m in r["metrics"]) for r in runs]) * 100),
        "train_error_mean": float(train.mean()),
        "epochs": finals[0]["epoch"],
        # the median epoch: robust to an epoch slowed by a neighbour on a shared machine
        "seconds_per_epoch": float(np.mean([np.median([m["seconds"] for m in r["metrics"]]) for r in runs])),
        "steps_free": mean("steps_free"),
        "steps_signal": mean("steps_signal"),
        "nfev_per_example": mean("nfev_free") + mean("nfev_signal") * row.meta.get("signal_phases", 1),
        "peak_rss_mb": float(np.max([r["metrics"][-1]["peak_rss_mb"] for r in runs])),
        "command": runs[0]["info"]["command"],
        "notes": row.notes,
    }


def run_grid(rows, datasets, seeds, out_dir, epochs=None, data_dir=None, log=print, jobs=1, finished_only=False):
    """Every row × dataset × seed, ``jobs`` runs at a time (one BLAS thread each when
    more than one); returns the summary table (list of dicts) in row order.
    ``finished_only``: run nothing, summarise the finished runs there are (a row with
    fewer seeds says so in its ``seeds``; a row with none is left out)."""
    from concurrent.futures import ThreadPoolExecutor

    out_dir = Path(out_dir)
    cells = [(dataset, row, seed) for dataset in datasets for row in rows for seed in range(seeds)]

    def launch(cell):
        dataset, row, seed = cell
        out = out_dir / f"{row.name}--{dataset}--seed{seed}"
        if finished_only and not (out / "done.json").is_file():
            return None
        out.mkdir(parents=True, exist_ok=True)
        cmd = command(row, dataset, seed, out, epochs)
        info = run_one(cmd, out, data_dir, log, 1 if jobs > 1 else None)
        return {"info": info, "metrics": read_metrics(out), "test_error": test_error(out, data_dir)}

    # the threads only wait on subprocesses
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(launch, cells))
    table = []
    for i in range(0, len(cells), seeds):
        dataset, row, _ = cells[i]
        done = [r for r in runs[i : i + seeds] if r is not None]
        if done:
            table.append(summarise(row, dataset, done))
    return table


COLUMNS = [
    ("method", "method", "{}"), ("dataset", "dataset", "{}"), ("seeds", "seeds", "{}"),
    ("test error %", "test_error_mean", "{:.2f}"), ("± std", "test_error_std", "{:.2f}"),
    ("validation %", "val_error_mean", "{:.2f}"), ("best validation %", "best_val_error_mean", "{:.2f}"),
    ("train %", "train_error_mean", "{:.2f}"),
    ("epochs", "epochs", "{}"), ("s/epoch (median)", "seconds_per_epoch", "{:.1f}"),
    ("steps free", "steps_free", "{:.1f}"), ("steps signal", "steps_signal", "{:.1f}"),
    ("f-evals/example", "nfev_per_example", "{:.1f}"), ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
]


def write_table(table, md_path, csv_path, title, preamble=""):
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    lines = [f"# {title}", "", preamble, "",
             "| " + " | ".join(h for h, _, _ in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for r in table:
        lines.append("| " + " | ".join(fmt.format(r[k]) for _, k, fmt in COLUMNS) + " |")
    lines += ["", "Commands (seed 0; other seeds differ only in `--seed`):", ""]
    lines += [f"- {r['method']} / {r['dataset']}: `{r['command']}`" + (f" ({r['notes']})" if r["notes"] else "")
              for r in table]
    Path(md_path).write_text("\n".join(lines) + "\n")


# The rows of the comparison: EP baselines, sigprop, and the exact-gradient ceiling.
METHODS = {
    "ep-1h": Row("ep-1h", ["--preset", "ep-1h"], "EP one-sided, random sign of β (Scellier & Bengio 2017)"),
    "ep-2h": Row("ep-2h", ["--preset", "ep-2h"], "EP one-sided, two hidden layers; 3 of the preset's 60 "
                 "epochs (150 + 6 Euler steps take ~4 min an epoch here)", epochs=3),
    "ep-1h-adaptive": Row("ep-1h-adaptive", ["--preset", "ep-1h-adaptive"],
                          "EP one-sided, fixed-point sweeps to a residual of 1e-3"),
    "ep-1h-symmetric": Row("ep-1h-symmetric", ["--preset", "ep-1h", "--set", "learning.beta_sign=symmetric"],
                           "EP with symmetric ±β nudging (Laborieux et al. 2021)", {"signal_phases": 2}),
    "ep-1h-asymmetric": Row("ep-1h-asymmetric", ["--preset", "ep-1h", "--set", "model.connectivity=asymmetric",
                                                 "--set", "learning.rule=vector_field"],
                            "vector-field EP on an asymmetric network (Scellier et al. 2018)"),
    "sigprop-1h": Row("sigprop-1h", ["--preset", "sigprop-1h"], "sigprop, the default variant"),
    "sigprop-ff-1h": Row("sigprop-ff-1h", ["--preset", "sigprop-ff-1h"], "sigprop on a feedforward network"),
    "gradient-1h": Row("gradient-1h", ["--preset", "gradient-1h"],
                       "ceiling: gradient of the loss at the fixed point, exact through the hidden units, "
                       "straight-through at saturated outputs; feedforward 784-500-10, EP's rates"),
}


def learning_curves(rows, datasets, out_dir, path):
    """Seed-0 curves of every finished row: held-out error against epoch and against wall
    time, one row of panels per dataset."""
    from . import plots

    curves = {}
    for dataset in datasets:
        for row in rows:
            run = Path(out_dir) / f"{row.name}--{dataset}--seed0"
            metrics = read_metrics(run) if (run / "done.json").is_file() else []
            if metrics:
                curves.setdefault(dataset, {})[row.name] = (
                    [m["epoch"] for m in metrics],
                    np.cumsum([m["seconds"] for m in metrics]),
                    [100 * m["test_error"] for m in metrics],
                )
    plots.learning_curves(curves, path)
