"""The ``ctnn`` command: train, evaluate.

Errors a user can fix (configuration, data) print one line on stderr and exit 2;
diverging dynamics exit 3. No traceback for either.
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

from . import config as configs
from .data import DataError
from .phases import DivergenceError
from solvers import SolverError

EXIT_USAGE, EXIT_DIVERGED = 2, 3


def _train(args):
    if args.resume:
        given = [flag for flag, v in (("--preset", args.preset), ("--config", args.config), ("--dataset", args.dataset),
                                      ("--seed", args.seed), ("--set", args.set)) if v]
        if given:
            raise configs.ConfigError(f"--resume continues a run as configured; drop {', '.join(given)}")
        from .train import resume

        resume(args.resume, args.epochs, args.data_dir, progress=not args.quiet)
        print(f"run written to {args.resume}")
        return
    overrides = {"data.dataset": args.dataset, "train.epochs": args.epochs, "train.seed": args.seed,
                 "data.dir": args.data_dir}
    cfg = configs.resolve(args.preset, args.config, args.set or (), **overrides)
    from .train import train

    train(cfg, args.out, progress=not args.quiet)
    print(f"run written to {args.out}")


def _evaluate(args):
    from .train import build, evaluate, load_checkpoint

    cfg, state = load_checkpoint(args.checkpoint)
    if args.dataset:
        cfg["data"]["dataset"] = args.dataset
    if args.data_dir:
        cfg["data"]["dir"] = args.data_dir
    if args.split:
        cfg["data"]["split"] = args.split
    configs.validate(cfg)
    dataset, net = build(cfg)
    ev = evaluate(net, state.theta, dataset.x_eval, dataset.y_eval, cfg)
    print(json.dumps({"dataset": dataset.name, "split": dataset.eval_split, "error": ev["error"],
                      "steps": ev["steps"], "limit": ev["limit"]}))


def _inspect(args):
    import numpy as np

    from .convergence import inspect_run, solver_report
    from .train import build, load_checkpoint, new_state, one_hot

    if args.target and args.preset:
        raise configs.ConfigError("give a run directory / checkpoint or --preset, not both")
    if args.target:
        cfg, state = load_checkpoint(args.target)
    else:
        cfg = configs.resolve(args.preset or None, None, ())
        state = None
    if args.dataset:
        cfg["data"]["dataset"] = args.dataset
    if args.data_dir:
        cfg["data"]["dir"] = args.data_dir
    if args.solver and args.solver not in configs.SOLVER_METHODS:
        raise configs.ConfigError(f"unknown solver {args.solver!r}; choose one of {', '.join(configs.SOLVER_METHODS)}")
    if args.examples < 1 or args.tol <= 0 or args.every < 1:
        raise configs.ConfigError("--examples and --every must be >= 1 and --tol > 0")
    configs.validate(cfg)
    dataset, net = build(cfg)
    if state is None:
        state = new_state(cfg, net, 0)
    x = np.ascontiguousarray(dataset.x_eval[: args.examples].T)
    c = one_hot(dataset.y_eval[: args.examples], net.sizes[-1], net.dtype)
    if args.compare_solvers:
        rows = solver_report(net, state.theta, x, args.out, args.tol)
        print((Path(args.out) / "solvers.md").read_text())
        return rows
    _, summary = inspect_run(net, state.theta, x, c, cfg, args.out, state.S, args.solver, args.tol, args.every)
    print(json.dumps(summary["phases"], indent=2))
    print(f"figures and summary.json written to {args.out}")


def _bench(args):
    from .bench import compile_seconds, run

    presets, batches, dtypes = args.preset.split(","), args.batch.split(","), args.dtype.split(",")
    for name in presets:
        if name not in configs.PRESETS:
            raise configs.ConfigError(f"unknown preset {name!r}; choose one of {', '.join(configs.PRESETS)}")
    if any(d not in ("float32", "float64") for d in dtypes):
        raise configs.ConfigError("--dtype takes float32 and/or float64")
    try:
        batches = [int(b) for b in batches]
    except ValueError as exc:
        raise configs.ConfigError(f"--batch takes integers: {exc}") from exc
    if min(batches) < 1 or args.examples < 1 or args.threads < 1:
        raise configs.ConfigError("--batch, --examples and --threads must be >= 1")
    cold, warm = compile_seconds()
    for name, batch, dtype in itertools.product(presets, batches, dtypes):
        result = run(name, batch, dtype, args.examples, threads=args.threads)
        result.update(compile_seconds=cold, cached_compile_seconds=warm)
        print(json.dumps(result), flush=True)


def _compare(args):
    from .study import METHODS, learning_curves, run_grid, write_table

    names = args.methods.split(",")
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise configs.ConfigError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    datasets = args.datasets.split(",")
    for d in datasets:
        if d not in configs.CHOICES["data.dataset"]:
            raise configs.ConfigError(f"unknown dataset {d!r}")
    if args.seeds < 1 or (args.epochs is not None and args.epochs < 1) or args.jobs < 1:
        raise configs.ConfigError("--seeds, --epochs and --jobs must be >= 1")
    rows = [METHODS[n] for n in names]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = run_grid(rows, datasets, args.seeds, args.runs, args.epochs, args.data_dir, jobs=args.jobs,
                     finished_only=args.finished_only)
    if not table:
        raise configs.ConfigError(f"no finished runs in {args.runs} to tabulate")
    budget = f"{args.epochs} epochs" if args.epochs else "each preset's epochs"
    write_table(table, out / "comparison.md", out / "comparison.csv", "Sigprop against EP",
                f"{budget}, {args.seeds} seed(s). Test error: the final parameters on the 10,000 held-out "
                f"test images, mean ± std over seeds; validation: the last 10,000 training images, which "
                f"the runs were not trained on (final epoch, and the best epoch). Command: `ctnn compare --methods {args.methods} "
                f"--datasets {args.datasets} --seeds {args.seeds}"
                + (f" --epochs {args.epochs}" if args.epochs else "")
                + (" --finished-only" if args.finished_only else "") + "`; a row with fewer seeds "
                f"than that had only those finished (its seeds column).")
    learning_curves(rows, datasets, args.runs, out / "learning_curves.png")
    print((out / "comparison.md").read_text())


def _sweep(args):
    from .sweep import parse_grid, run_sweep

    if args.preset and args.config:
        raise configs.ConfigError("give --preset or --config, not both")
    base = (["--preset", args.preset] if args.preset else []) + (["--config", args.config] if args.config else [])
    base += [a for item in (args.set or []) for a in ("--set", item)]
    if args.epochs is not None:
        base += ["--epochs", str(args.epochs)]
    grid = parse_grid(args.grid or [])
    # validate the base and every grid point before any work starts
    for values in itertools.product(*[v for _, v in grid]):
        sets = list(args.set or []) + [f"{k}={v}" for (k, _), v in zip(grid, values)]
        configs.resolve(args.preset, args.config, sets, **{"data.dataset": args.dataset})
    if args.seeds < 1 or args.workers < 1 or args.retries < 0:
        raise configs.ConfigError("--seeds and --workers must be >= 1, --retries >= 0")
    table = run_sweep(base, grid, args.seeds, args.out, args.dataset, args.scheduler, args.workers, args.retries,
                      args.data_dir, args.seed, progress=not args.quiet)
    failed = [r for r in table if r["status"] == "failed"]
    print((Path(args.out) / "sweep.md").read_text())
    for r in failed:
        print(f"failed: {r['run_dir']}: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


def parser():
    p = argparse.ArgumentParser(prog="ctnn", description="Continuous-time Hebbian networks: EP and sigprop.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a network; writes config.json, metrics.jsonl, checkpoint.npz")
    t.add_argument("--preset", help=f"one of {', '.join(configs.PRESETS)}")
    t.add_argument("--config", help="a TOML file laid over the preset")
    t.add_argument("--dataset", help="digits (offline), mnist, fashion-mnist")
    t.add_argument("--epochs", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--out", default="runs/latest", help="run directory (default runs/latest)")
    t.add_argument("--data-dir", help="where the IDX files are (else $CTNN_DATA, the cache, ...)")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a dotted config key")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue RUN_DIR from its last checkpoint")
    t.set_defaults(run=_train)
    e = sub.add_parser("evaluate", help="error of a checkpoint's free phase")
    e.add_argument("checkpoint", help="checkpoint.npz or its run directory")
    e.add_argument("--dataset")
    e.add_argument("--split", choices=("validation", "test"))
    e.add_argument("--data-dir")
    e.set_defaults(run=_evaluate)
    i = sub.add_parser("inspect", help="record how the phases settle; figures and summary.json")
    i.add_argument("target", nargs="?", help="run directory or checkpoint (or use --preset for a fresh network)")
    i.add_argument("--preset", help="inspect a fresh network of this preset")
    i.add_argument("--dataset")
    i.add_argument("--data-dir")
    i.add_argument("--examples", type=int, default=32, help="evaluation examples to run (default 32)")
    i.add_argument("--solver", help="integrator for both phases (default: the run's)")
    i.add_argument("--tol", type=float, default=1e-6, help="residual that counts as settled (default 1e-6)")
    i.add_argument("--every", type=int, default=1, help="record every k-th step (default 1)")
    i.add_argument("--compare-solvers", action="store_true", help="every integrator on one batch: a table and a plot")
    i.add_argument("--out", default="runs/inspect")
    i.set_defaults(run=_inspect)
    b = sub.add_parser("bench", help="training throughput beside plain NumPy and the GEMM rate; JSON lines")
    b.add_argument("--preset", default="ep-1h", help="preset(s), comma-separated (default ep-1h)")
    b.add_argument("--batch", default="20", help="batch size(s), comma-separated (default 20)")
    b.add_argument("--dtype", default="float32", help="float32 and/or float64, comma-separated")
    b.add_argument("--examples", type=int, default=4000, help="examples per timed pass (default 4000)")
    b.add_argument("--threads", type=int, default=1, help="BLAS threads of the engine and of NumPy (default 1)")
    b.set_defaults(run=_bench)
    c = sub.add_parser("compare", help="methods × datasets × seeds -> comparison.md/.csv, learning_curves.png")
    c.add_argument("--methods", default="ep-1h,ep-1h-adaptive,ep-1h-symmetric,ep-1h-asymmetric,sigprop-1h,gradient-1h")
    c.add_argument("--datasets", default="mnist,fashion-mnist")
    c.add_argument("--seeds", type=int, default=3)
    c.add_argument("--epochs", type=int, help="override every preset's epochs")
    c.add_argument("--jobs", type=int, default=1, help="runs side by side (one BLAS thread each)")
    c.add_argument("--data-dir")
    c.add_argument("--runs", default="runs/compare", help="where the run directories go (reused on re-runs)")
    c.add_argument("--finished-only", action="store_true", help="run nothing: tabulate the finished runs in --runs")
    c.add_argument("--out", default="results")
    c.set_defaults(run=_compare)
    w = sub.add_parser("sweep", help="grid × seeds of ctnn train trials on a Dask cluster")
    w.add_argument("--preset")
    w.add_argument("--config")
    w.add_argument("--dataset")
    w.add_argument("--grid", action="append", metavar="KEY=V1,V2", help="a dotted config key and its values")
    w.add_argument("--set", action="append", metavar="KEY=VALUE", help="applied to every trial")
    w.add_argument("--epochs", type=int)
    w.add_argument("--seeds", type=int, required=True, help="seeds per grid point (SeedSequence.spawn)")
    w.add_argument("--seed", type=int, default=0, help="root of the SeedSequence (default 0)")
    w.add_argument("--scheduler", help="tcp://host:port of an existing cluster (default: a LocalCluster)")
    w.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    w.add_argument("--retries", type=int, default=1, help="retries of a failed trial (default 1)")
    w.add_argument("--data-dir")
    w.add_argument("--out", default="runs/sweep")
    w.add_argument("--quiet", action="store_true")
    w.set_defaults(run=_sweep)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    from .threads import blas_threads, default_threads

    code = 0
    try:
        with blas_threads(default_threads()):
            code = args.run(args)
    except (configs.ConfigError, DataError, SolverError) as exc:
        print(f"ctnn: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DivergenceError, FloatingPointError) as exc:
        print(f"ctnn: diverged: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
