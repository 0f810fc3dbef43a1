"""One BLAS thread while relaxing.

NumPy and SciPy each bring their own OpenBLAS (Numba's kernels call SciPy's). A training
step alternates between them on small matrices, and two pools of spinning threads on
two cores then fight: ep-1h at batch 20 ran at 2,057 examples/s with both pools at two
threads and at 17,560 with one thread each (`ctnn bench`, same machine, same minute).
"""

from contextlib import contextmanager

import scipy.linalg.blas  # noqa: F401 - load SciPy's OpenBLAS so that the limit reaches it
from threadpoolctl import threadpool_limits


@contextmanager
def single_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
