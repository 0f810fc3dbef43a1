"""The ``ctnn`` command: train, evaluate.

Errors a user can fix (configuration, data) print one line on stderr and exit 2;
diverging dynamics exit 3. No traceback for either.
"""

import argparse
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
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (configs.ConfigError, DataError, SolverError) as exc:
        print(f"ctnn: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DivergenceError, FloatingPointError) as exc:
        print(f"ctnn: diverged: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    return 0


if __name__ == "__main__":
    sys.exit(main())
