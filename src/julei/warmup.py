"""Compile julei's numba kernels into numba's on-disk cache before their first use.

numba compiles a kernel the first time it is called with a new type of input and caches the
machine code beside the source. Compiling the kernels of one fit takes about 18 seconds on
two cores, so `make` runs ``python -m julei.warmup`` once after installing: every later
process, the first fit included, loads the kernels from the cache instead.

The two float types compile in two processes at once. Run it again after changing a kernel,
or let the next call compile what changed.
"""

import subprocess
import sys
import time

import numpy as np

DTYPES = ("float32", "float64")


def compile_kernels(dtype):
    """Call every kernel that the estimators and jobs use once, on tiny data of ``dtype``."""
    import scipy.sparse as sp

    from julei import KMeans, MiniBatchKMeans, choose_k
    from julei._accelerated import GEMM_MIN_FEATURES, MERGE_MIN_SAMPLES

    rng = np.random.default_rng(0)
    low = rng.normal(size=(400, 3)).astype(dtype)
    high = rng.normal(size=(200, GEMM_MIN_FEATURES)).astype(dtype)
    for X in (low, high):
        model = KMeans(4, random_state=0).fit(X)
        model.predict(X)
        model.transform(X)
        model.score(X)
    for algorithm in ("lloyd", "hamerly", "simd", "yinyang", "gemm"):
        KMeans(4, algorithm=algorithm, init=low[:4], n_init=1).fit(low)
    KMeans(4, random_state=0).fit(sp.csr_matrix(low))
    # Many repeated rows: the duplicate merge in front of Hamerly.
    repeated = np.round(rng.normal(size=(MERGE_MIN_SAMPLES, 3)), 1).astype(dtype)
    KMeans(4, random_state=0).fit(repeated)
    minibatch = MiniBatchKMeans(4, random_state=0, batch_size=64).fit(low)
    minibatch.partial_fit(low)
    choose_k(low, k=range(2, 4), random_state=0)
    if dtype == "float64":
        # The image job reads 8-bit pixels whatever the dtype, so one of the processes runs it.
        from julei import segment_image

        segment_image(rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8), n_colors=3, random_state=0)


def main(argv=None):
    """Compile the kernels of every dtype, each in its own process, and return an exit code.

    With one argument, a dtype name, compile that dtype's kernels in this process.
    """
    from julei.i18n import translator

    argv = sys.argv[1:] if argv is None else argv
    if argv:
        compile_kernels(argv[0])
        return 0
    t = translator()
    started = time.perf_counter()
    workers = [subprocess.Popen([sys.executable, "-m", "julei.warmup", dtype]) for dtype in DTYPES]
    failed = [dtype for dtype, worker in zip(DTYPES, workers) if worker.wait() != 0]
    if failed:
        print(t("warmup.failed", dtypes=", ".join(failed)), file=sys.stderr)
        return 1
    print(t("warmup.done", seconds=f"{time.perf_counter() - started:.0f}"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
