"""Sweeps on Dask distributed: every (grid point × seed) an independent ``ctnn train``.

Each trial is a task that runs ``ctnn train`` in a subprocess (its own process: its
own memory, one BLAS and Numba thread) and writes its run directory exactly as
``ctnn train`` does, plus ``done.json``. Dask retries a failed task, and reruns the
tasks of a worker it lost; a trial interrupted mid-run continues from its checkpoint.
Running the same sweep again skips finished trials. Seeds come from
``SeedSequence(seed).spawn(n)``: trial i of every grid point has the same seed.
"""

import csv
import itertools
import json
from pathlib import Path

import numpy as np

from .study import Row, command, read_metrics, run_one


def parse_grid(items):
    """["a.b=1,2", "c=x,y"] -> [("a.b", ["1", "2"]), ("c", ["x", "y"])] (values as typed)."""
    from .config import ConfigError

    grid = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--grid expects key=v1,v2,..., got {item!r}")
        key, values = item.split("=", 1)
        vals = [v for v in _split_values(values) if v != ""]
        if not key or not vals:
            raise ConfigError(f"--grid {item!r} needs a key and at least one value")
        grid.append((key.strip(), vals))
    return grid


def _split_values(text):
    """Split on commas outside brackets, so that key=[1,2],[3,4] has two values."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch in "[{"
        depth -= ch in "]}"
        cur += ch
    out.append(cur.strip())
    return out


def seeds(n, base=0):
    """n trial seeds from SeedSequence(base).spawn(n): reproducible trial by trial."""
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(base).spawn(n)]


def trials(base_args, grid, n_seeds, base_seed=0):
    """(name, grid values, seed index, seed, Row) for every grid point × seed."""
    keys = [k for k, _ in grid]
    out = []
    for values in itertools.product(*[v for _, v in grid]) if grid else [()]:
        point = dict(zip(keys, values))
        slug = "-".join(f"{k.split('.')[-1]}={v}" for k, v in point.items()) or "base"
        slug = "".join(ch if ch.isalnum() or ch in "=-_.," else "_" for ch in slug)
        sets = [a for k, v in point.items() for a in ("--set", f"{k}={v}")]
        for i, seed in enumerate(seeds(n_seeds, base_seed)):
            out.append((f"{slug}--seed{i}", point, i, seed, Row(slug, base_args + sets)))
    return out


def _trial_task(cmd, out, data_dir):
    """What a worker runs: one trial, in a subprocess with one thread."""
    return run_one(cmd, out, data_dir, log=lambda *_: None, threads=1)


def run_sweep(base_args, grid, n_seeds, out_dir, dataset=None, scheduler=None, workers=2, retries=1,
              data_dir=None, base_seed=0, progress=True):
    """Run every trial on Dask; write sweep.csv and sweep.md into ``out_dir``; return the rows."""
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm

    out_dir = Path(out_dir)
    (out_dir / "trials").mkdir(parents=True, exist_ok=True)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
    client = Client(cluster if cluster is not None else scheduler)
    rows = {}
    try:
        futures = {}
        for name, point, i, seed, row in trials(base_args, grid, n_seeds, base_seed):
            run_dir = out_dir / "trials" / name
            run_dir.mkdir(parents=True, exist_ok=True)
            cmd = command(row, dataset, seed, run_dir)
            rows[name] = {**point, "seed_index": i, "seed": seed, "run_dir": str(run_dir), "command": " ".join(cmd)}
            if (run_dir / "done.json").is_file():
                rows[name]["status"] = "skipped (finished before)"
                continue
            futures[client.submit(_trial_task, cmd, str(run_dir), data_dir, retries=retries, key=f"trial-{name}",
                                  pure=False)] = name
        for future in tqdm(as_completed(futures), total=len(futures), desc="trials", unit="trial", disable=not progress):
            name = futures[future]
            try:
                future.result()
                rows[name]["status"] = "done"
            except Exception as exc:  # noqa: BLE001 - a failed trial is reported, never dropped
                rows[name]["status"] = "failed"
                rows[name]["error"] = str(exc).splitlines()[-1][:500] if str(exc) else type(exc).__name__
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    table = [_result(row) for row in rows.values()]
    write(table, [k for k, _ in grid], out_dir)
    return table


def _result(row):
    metrics = read_metrics(row["run_dir"])
    finished = row.get("status") in ("done", "skipped (finished before)") and metrics
    return {
        **row,
        "final_test_error": metrics[-1]["test_error"] if finished else None,
        "best_test_error": min(m["test_error"] for m in metrics) if finished else None,
        "seconds": sum(m["seconds"] + m.get("eval_seconds", 0.0) for m in metrics) if finished else None,
        "error": row.get("error", ""),
    }


def write(table, keys, out_dir):
    fields = [*keys, "seed_index", "seed", "status", "final_test_error", "best_test_error", "seconds", "run_dir",
              "error", "command"]
    with open(Path(out_dir) / "sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)
    groups = {}
    for r in table:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    lines = ["# Sweep", "", "| " + " | ".join([*keys, "trials", "failed", "final test error %", "best test error %"]) + " |",
             "|" + "---|" * (len(keys) + 4)]
    for point, rs in groups.items():
        ok = [r for r in rs if r["final_test_error"] is not None]
        fin = np.array([r["final_test_error"] for r in ok]) * 100
        best = np.array([r["best_test_error"] for r in ok]) * 100
        fmt = lambda a: f"{a.mean():.2f} ± {a.std(ddof=1) if len(a) > 1 else 0.0:.2f}" if len(a) else "—"  # noqa: E731
        lines.append("| " + " | ".join([*map(str, point), str(len(rs)), str(len(rs) - len(ok)), fmt(fin), fmt(best)]) + " |")
    (Path(out_dir) / "sweep.md").write_text("\n".join(lines) + "\n")
    (Path(out_dir) / "sweep.json").write_text(json.dumps(table, indent=1, default=str) + "\n")
