"""Every sigprop variant on MNIST and Fashion-MNIST -> results/sigprop-ablation.{md,csv}.

    python scripts/sigprop_ablation.py [--epochs 3] [--seeds 1] [--jobs 2] [--data-dir DIR]
"""

import argparse
import itertools

from ctnn.study import Row, run_grid, write_table

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--seeds", type=int, default=1)
p.add_argument("--jobs", type=int, default=2)
p.add_argument("--datasets", default="mnist,fashion-mnist")
p.add_argument("--data-dir")
p.add_argument("--runs", default="runs/sigprop-ablation")
p.add_argument("--out", default="results/sigprop-ablation")
args = p.parse_args()

rows = []
for conn, signal, projection, nudge in itertools.product(
    ("feedforward", "asymmetric", "symmetric"), ("error", "target"), ("fixed", "learned"), (True, False)
):
    name = f"{conn}/{signal}/{projection}/{'nudge' if nudge else 'no-nudge'}"
    sets = [f"model.connectivity={conn}", f"learning.signal={signal}",
            f"learning.projection={projection}", f"learning.output_nudge={str(nudge).lower()}"]
    rows.append(Row(name.replace("/", "-"), ["--preset", "sigprop-1h"] + [a for s in sets for a in ("--set", s)]))

table = run_grid(rows, args.datasets.split(","), args.seeds, args.runs, args.epochs, args.data_dir, jobs=args.jobs)
write_table(
    table, args.out + ".md", args.out + ".csv", "Sigprop ablation",
    f"Preset `sigprop-1h` (784-500-10, hard sigmoid, Euler ε = 0.5, 20 free + 4 signal steps, batch 20, "
    f"persistent particles, γ = 0.1, β = 1, η = 0.05, 0.05, learned S: η_S = 0.05) with one option changed per row; "
    f"{args.epochs} epochs, {args.seeds} seed(s), error on the validation split (last 10,000 training images). "
    f"Command: `python scripts/sigprop_ablation.py --epochs {args.epochs} --seeds {args.seeds} --jobs {args.jobs}`.",
)
print(open(args.out + ".md").read())
