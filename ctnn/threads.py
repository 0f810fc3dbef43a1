"""BLAS threads while relaxing.

NumPy and SciPy may each bring their own OpenBLAS. A training step alternating between
two pools of spinning threads on two cores makes them fight: ep-1h at batch 20 ran at
2,057 examples/s with both pools at two threads and at 17,560 with one thread each
(`ctnn bench`, same machine, same minute). So every product of the hot loop goes
through SciPy's BLAS (Numba's kernels call it; the Hebbian products and the input drive
use scipy.linalg.blas), and only that pool gets more than one thread.
"""

import os
from contextlib import contextmanager

import scipy.linalg.blas  # noqa: F401 - load SciPy's BLAS so that the limits reach it
from threadpoolctl import ThreadpoolController


def default_threads():
    """$OPENBLAS_NUM_THREADS (or $OMP_NUM_THREADS) when set, else 1.

    More threads pay only on an otherwise idle machine, and there mostly for big products
    (ep-2h 1.7× with two on two idle cores, ep-1h at batch 20 +3 %); while other work shared
    the cores, two made every configuration several times slower, spinning BLAS threads
    competing for them (README, Speed).
    """
    env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return 1


@contextmanager
def blas_threads(n=1):
    """``n`` threads for the BLAS the engine calls, one for any other (NumPy's own)."""
    controller = ThreadpoolController()
    blas = [lib for lib in controller.lib_controllers if lib.user_api == "blas"]
    others = [lib for lib in blas if "numpy" in lib.filepath] if len(blas) > 1 else []
    saved = [(lib, lib.num_threads) for lib in blas]
    try:
        for lib in blas:
            lib.set_num_threads(1 if lib in others else n)
        yield
    finally:
        for lib, threads in saved:
            lib.set_num_threads(threads)
