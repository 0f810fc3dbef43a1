"""Throughput of the compiled engine beside plain NumPy, in one process -> results/benchmarks.md.

    python benchmarks/run_benchmarks.py [--examples 4000] [--threads 1,2] [--out results/benchmarks.md]

Runs ep-1h, ep-2h and sigprop-1h at batch 20 and 100 in float32 and float64, with each
BLAS thread count. The machine is shared and noisy: every figure is the median of three
timed passes, and each row's NumPy figure was measured in the same process right after
the engine's, with the same number of BLAS threads.
"""

import argparse
import json
import os
import platform
import time

import numpy as np

from ctnn.bench import compile_seconds, run

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--examples", type=int, default=4000)
p.add_argument("--presets", default="ep-1h,ep-2h,sigprop-1h")
p.add_argument("--threads", default="1,2", help="BLAS thread counts, comma-separated")
p.add_argument("--out", default="results/benchmarks.md")
args = p.parse_args()

load_before = os.getloadavg()[0]
cold, warm = compile_seconds()
rows = []
for preset in args.presets.split(","):
    for batch in (20, 100):
        for dtype in ("float32", "float64"):
            for threads in (int(t) for t in args.threads.split(",")):
                examples = args.examples if preset != "ep-2h" else max(args.examples // 8, batch)
                r = run(preset, batch, dtype, examples, threads=threads)
                print(json.dumps(r), flush=True)
                rows.append(r)
with open(args.out.replace(".md", ".jsonl"), "w") as fh:
    fh.writelines(json.dumps(r) + "\n" for r in rows)

load_after = os.getloadavg()[0]
lines = [
    "# Benchmarks",
    "",
    f"Measured {time.strftime('%Y-%m-%d')} on {platform.processor() or platform.machine()}, 2 cores, "
    f"NumPy {np.__version__}. Command: `python benchmarks/run_benchmarks.py --examples {args.examples} "
    f"--threads {args.threads}`; every row as JSON in `{args.out.replace('.md', '.jsonl').split('/')[-1]}`.",
    "A training step is the whole EP/sigprop step: free phase, signal phase, Hebbian update. "
    "`threads` is the number of BLAS threads of both the engine and the NumPy reference (the engine's "
    "compiled loops are single-threaded; its large products use the threads). `peak GFLOP/s` is NumPy's "
    "measured matmul rate for the same layer shapes and batch with the same threads, the best of five "
    "0.1 s windows (with every core: `peak_gflops_all_cores` in the JSON).",
    "",
    f"Load average (1 min) {load_before:.1f} before and {load_after:.1f} after the run: anything above 0 is "
    "other work on the same 2 cores, which the figures share them with.",
    "",
    f"First-call compile (empty Numba cache, import + first settle): {cold:.1f} s; with the cache: {warm:.1f} s.",
    "",
    "| preset | batch | dtype | threads | examples/s | GFLOP/s | peak GFLOP/s | % of peak | NumPy examples/s | speed-up | steps free+signal |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]
for r in rows:
    lines.append(
        f"| {r['preset']} | {r['batch']} | {r['dtype']} | {r['threads']} | {r['examples_per_s']:,.0f} | {r['gflops']:.1f} | "
        f"{r['peak_gflops']:.1f} | {100 * r['gflops'] / r['peak_gflops']:.0f}% | {r['numpy_examples_per_s']:,.0f} | "
        f"{r['speedup_vs_numpy']:.1f}× | {r['steps_free']:.0f}+{r['steps_signal']:.0f} |"
    )
open(args.out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
