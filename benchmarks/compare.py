"""Run julei, scikit-learn and faiss K-means side by side on the same data and threads.

Every library gets the same number of threads (2 by default: BLAS and OpenMP through
threadpoolctl, numba through ``numba.set_num_threads``, faiss through
``faiss.omp_set_num_threads``), float32 data, and, for the "same init" rows, the same
k-means++ centres as explicit initial centres. The "default init" rows let each library
seed itself. Times are medians over ``--runs`` runs. Inertia is recomputed over all points
from each result's centres and shown relative to scikit-learn's Lloyd from the same centres.

Usage: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/compare.py
       [--runs 5] [--quick] [--threads 2] [--only photo,customers,...]
"""

import argparse
import ctypes
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO.parent / "shared" / "data" / "images" / "china.jpg"
TARGET_INERTIA_RTOL = 1e-3


# ---------------------------------------------------------------- measuring


_LIBC = ctypes.CDLL("libc.so.6")
# Large blocks come from mmap and go back to the system when freed, so the resident size
# seen after one library's run does not hide the next library's allocations.
_LIBC.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD: 1 MiB


def _rss_bytes(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def measure(function):
    """Call ``function()`` and return (result, seconds, peak resident bytes above the start).

    The peak is the kernel's high-water mark of the process (VmHWM), reset before the call,
    so it covers numpy, numba and C++ allocations alike.
    """
    _LIBC.malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = _rss_bytes("VmRSS:")
    started = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - started
    peak = _rss_bytes("VmHWM:")
    return result, seconds, max(0, peak - before)


def memory_bandwidth(n_threads):
    """Return the measured read bandwidth in bytes per second (numba, ``n_threads``)."""
    import numba

    # fastmath lets the sum vectorize, so the loop is limited by memory, not by the adds.
    # The index is unsigned: numba's test for negative signed indices kept the loop out of
    # SIMD lanes, and the figure came out at 9 GB/s where the memory gives about 45.
    @numba.njit(parallel=True, fastmath=True)
    def read_all(values, n_groups):
        partial = np.zeros(n_groups)
        size = values.shape[0]
        for g in numba.prange(n_groups):
            total = 0.0
            for i in range(np.uint64(g * size // n_groups), np.uint64((g + 1) * size // n_groups)):
                total += values[i]
            partial[g] = total
        return partial.sum()

    values = np.ones(128 * 1024 * 1024 // 4 * 4, dtype=np.float32)  # 512 MiB
    read_all(values[:1000], 32)
    best = np.inf
    for _ in range(3):
        started = time.perf_counter()
        read_all(values, 32)
        best = min(best, time.perf_counter() - started)
    return values.nbytes / best


def gemm_rate():
    """Return the measured float32 matrix-product rate in flop per second (numpy's BLAS)."""
    rng = np.random.default_rng(0)
    a = rng.random((4096, 784), dtype=np.float32)
    b = rng.random((784, 256), dtype=np.float32)
    a @ b
    best = np.inf
    for _ in range(5):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2.0 * a.shape[0] * a.shape[1] * b.shape[1] / best


def inertia_of(X, centers):
    """Return the inertia of X with every sample assigned to its nearest centre."""
    from julei._kernels import lloyd
    from julei._kernels._common import n_groups_for

    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    n_groups = n_groups_for(X.shape[0])
    labels = np.empty(X.shape[0], dtype=np.int32)
    group_inertia = np.zeros(n_groups)
    lloyd.assign_dense(
        X, np.ones(X.shape[0], dtype=X.dtype), centers, labels,
        np.zeros((1, 1, 1)), np.zeros((1, 1)), group_inertia, False,
    )
    return float(group_inertia.sum())


# ---------------------------------------------------------------- workloads


def photo_pixels(quick):
    from PIL import Image

    size = (1000, 750) if quick else (4000, 3000)
    image = Image.open(PHOTO).convert("RGB").resize(size, Image.LANCZOS)
    return np.asarray(image, dtype=np.float32).reshape(-1, 3) / np.float32(255.0)


def customers(quick, seed=0):
    rng = np.random.default_rng(seed)
    n_samples = 100_000 if quick else 1_000_000
    sigma = np.array([1.0, 0.6, 1.2, 0.4])
    X = np.exp(rng.normal(size=(n_samples, 4)) * sigma + rng.normal(size=4))
    X = np.log1p(X)  # analysts log-scale skewed amounts before standardising
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.ascontiguousarray(X, dtype=np.float32)


def gaussian_blobs(quick, n_clusters=100, seed=0):
    from sklearn.datasets import make_blobs

    n_samples = 20_000 if quick else 200_000
    X, _ = make_blobs(n_samples, n_features=32, centers=n_clusters, cluster_std=2.0, random_state=seed)
    return X.astype(np.float32)


def mnist_like(quick, seed=0):
    """Return synthetic 28 x 28 'digits': ten smooth prototype strokes plus noise, in [0, 1]."""
    rng = np.random.default_rng(seed)
    n_samples = 7_000 if quick else 70_000
    grid = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij"), axis=-1).reshape(-1, 2)
    prototypes = np.zeros((10, 784))
    for digit in range(10):
        for _ in range(4):
            centre = rng.uniform(6, 22, size=2)
            width = rng.uniform(1.5, 3.5)
            prototypes[digit] += np.exp(-((grid - centre) ** 2).sum(axis=1) / (2 * width**2))
    prototypes = np.clip(prototypes, 0, 1)
    labels = rng.integers(0, 10, n_samples)
    X = prototypes[labels] * rng.uniform(0.7, 1.0, (n_samples, 1)) + rng.normal(0, 0.15, (n_samples, 784))
    X[X < 0.1] = 0.0
    return np.clip(X, 0, 1).astype(np.float32)


# ---------------------------------------------------------------- libraries


def run_julei(X, n_clusters, init, seed, algorithm="auto", max_iter=300):
    from julei import KMeans

    model = KMeans(n_clusters, init=init, n_init=1, random_state=seed, algorithm=algorithm, max_iter=max_iter).fit(X)
    return model.cluster_centers_, model.n_iter_, model.algorithm_


def run_sklearn(X, n_clusters, init, seed, algorithm):
    from sklearn.cluster import KMeans

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = KMeans(n_clusters, init=init, n_init=1, random_state=seed, algorithm=algorithm).fit(X)
    return model.cluster_centers_, model.n_iter_, algorithm


def run_faiss(X, n_clusters, init, seed, n_iter):
    import faiss

    kmeans = faiss.Kmeans(
        X.shape[1], n_clusters, niter=n_iter, seed=seed, verbose=False,
        max_points_per_centroid=X.shape[0], min_points_per_centroid=1,
    )
    if isinstance(init, str):
        kmeans.train(X)
    else:
        kmeans.train(X, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
    return kmeans.centroids.copy(), n_iter, "faiss"


def run_minibatch(library, X, n_clusters, seed):
    if library == "julei":
        from julei import MiniBatchKMeans
    else:
        from sklearn.cluster import MiniBatchKMeans
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MiniBatchKMeans(n_clusters, random_state=seed).fit(X)
    return model.cluster_centers_, model.n_steps_, "minibatch"


# ---------------------------------------------------------------- one workload


def time_runs(label, function, X, runs):
    """Run ``function`` ``runs`` times; return a row with the median time and the last result."""
    times, peaks = [], []
    for _ in range(runs):
        (centers, n_iter, detail), seconds, peak = measure(function)
        times.append(seconds)
        peaks.append(peak)
    seconds = float(np.median(times))
    return {
        "library": label, "detail": detail, "seconds": seconds, "spread": (min(times), max(times)),
        "n_iter": int(n_iter), "per_iter": seconds / max(int(n_iter), 1),
        "inertia": inertia_of(X, centers), "peak_mb": max(peaks) / 2**20,
    }


def bench_workload(name, X, n_clusters, args, bound):
    from julei import kmeans_plusplus

    seed = 0
    init, _ = kmeans_plusplus(X, n_clusters, random_state=seed)
    rows = []
    julei_same = time_runs("julei", lambda: run_julei(X, n_clusters, init, seed), X, args.runs)
    rows.append(("same init", julei_same))
    rows.append(("same init", time_runs("sklearn lloyd", lambda: run_sklearn(X, n_clusters, init, seed, "lloyd"), X, args.runs)))
    rows.append(("same init", time_runs("sklearn elkan", lambda: run_sklearn(X, n_clusters, init, seed, "elkan"), X, args.runs)))
    rows.append(("same init", time_runs("faiss", lambda: run_faiss(X, n_clusters, init, seed, julei_same["n_iter"]), X, args.runs)))
    if not args.no_default_init:
        runs = args.default_runs
        rows.append(("default init", time_runs("julei", lambda: run_julei(X, n_clusters, "k-means++", seed), X, runs)))
        rows.append(("default init", time_runs("sklearn lloyd", lambda: run_sklearn(X, n_clusters, "k-means++", seed, "lloyd"), X, runs)))
        rows.append(("default init", time_runs("faiss (25 iterations)", lambda: run_faiss(X, n_clusters, "default", seed, 25), X, runs)))
    report_workload(name, X, n_clusters, rows, bound)
    return rows


def bench_minibatch(X, n_clusters, args):
    rows = [
        ("default init", time_runs("julei minibatch", lambda: run_minibatch("julei", X, n_clusters, 0), X, args.runs)),
        ("default init", time_runs("sklearn minibatch", lambda: run_minibatch("sklearn", X, n_clusters, 0), X, args.default_runs)),
    ]
    report_workload("MiniBatchKMeans, customers", X, n_clusters, rows, None)
    return rows


def bench_seeding(X, n_clusters, args):
    from sklearn.cluster import kmeans_plusplus as sklearn_plusplus

    from julei import kmeans_plusplus

    rows = []
    results = {}
    kmeans_plusplus(X[:5000], 50, random_state=0)  # load the kernels
    for label, function in [("julei", kmeans_plusplus), ("sklearn", sklearn_plusplus)]:
        times = []
        for _ in range(args.default_runs):
            (centers, indices), seconds, peak = measure(lambda: function(X, n_clusters, random_state=0))
            times.append(seconds)
        results[label] = indices
        rows.append({"library": label, "seconds": float(np.median(times)), "peak_mb": peak / 2**20,
                     "inertia": inertia_of(X, centers)})
    same = np.array_equal(results["julei"], results["sklearn"])
    print(f"\n## k-means++ seeding alone, {X.shape[0]:,} x {X.shape[1]}, k = {n_clusters}")
    print(f"same seeds as scikit-learn: {same}")
    print("| library | median s | peak MB | inertia of the seeds |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['library']} | {row['seconds']:.3f} | {row['peak_mb']:.0f} | {row['inertia']:.6g} |")
    print(f"speed-up over scikit-learn: {rows[1]['seconds'] / rows[0]['seconds']:.2f}x")
    return rows


def report_workload(name, X, n_clusters, rows, bound):
    reference = next((row for init, row in rows if init == "same init" and row["library"] == "sklearn lloyd"), rows[-1][1])
    print(f"\n## {name}: {X.shape[0]:,} x {X.shape[1]} float32, k = {n_clusters}")
    print(f"| init | library | algorithm | median s (min-max) | iterations | ms / iteration | inertia / {reference['library']} | peak MB |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for init, row in rows:
        low, high = row["spread"]
        print(
            f"| {init} | {row['library']} | {row['detail']} | {row['seconds']:.3f} ({low:.3f}-{high:.3f}) "
            f"| {row['n_iter']} | {1e3 * row['per_iter']:.2f} | {row['inertia'] / reference['inertia']:.6f} "
            f"| {row['peak_mb']:.0f} |"
        )
    for init in ("same init", "default init"):
        group = [row for row_init, row in rows if row_init == init]
        ours = next((row for row in group if row["library"].startswith("julei")), None)
        if ours is None:
            continue
        peers = [row for row in group if not row["library"].startswith("julei")]
        sklearn = next((row for row in peers if row["library"].startswith("sklearn")), None)
        eligible = [row for row in peers if row["inertia"] <= ours["inertia"] * (1 + TARGET_INERTIA_RTOL)]
        line = f"{init}: julei {sklearn['seconds'] / ours['seconds']:.2f}x faster than {sklearn['library']}"
        if eligible:
            fastest = min(eligible, key=lambda row: row["seconds"])
            line += f", {fastest['seconds'] / ours['seconds']:.2f}x the fastest peer at its inertia ({fastest['library']})"
        else:
            line += ", no peer reached julei's inertia within 0.1 %"
        print(line)
    if bound is not None:
        julei_row = rows[0][1]
        print(
            f"bound for one Lloyd iteration: {1e3 * bound:.2f} ms; julei's time per iteration is "
            f"{julei_row['per_iter'] / bound:.2f}x that bound"
        )


def lloyd_bound(X, n_clusters, bandwidth, flops):
    """Return the faster of reading X once and doing the n x k x d product, in seconds."""
    return max(X.nbytes / bandwidth, 2.0 * X.shape[0] * X.shape[1] * n_clusters / flops)


# ---------------------------------------------------------------- compile time


COMPILE_SNIPPET = textwrap.dedent(
    """
    import time, numpy as np
    from julei import KMeans
    X = np.random.default_rng(0).normal(size=(2000, 4)).astype(np.float32)
    started = time.perf_counter()
    KMeans(5, random_state=0).fit(X)
    print(time.perf_counter() - started)
    """
)


def compile_times():
    """Return, in seconds: the first default fit with an empty numba cache, the warm-up
    (``python -m julei.warmup``) with an empty cache, and the first fit in a new process
    after the warm-up."""
    with tempfile.TemporaryDirectory() as cold_cache, tempfile.TemporaryDirectory() as warm_cache:

        def first_fit(cache):
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            output = subprocess.run(
                [sys.executable, "-c", COMPILE_SNIPPET], env=env, capture_output=True, text=True, check=True
            )
            return float(output.stdout.strip().splitlines()[-1])

        cold = first_fit(cold_cache)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "julei.warmup"], env=dict(os.environ, NUMBA_CACHE_DIR=warm_cache),
            capture_output=True, check=True,
        )
        warmup = time.perf_counter() - started
        return cold, warmup, first_fit(warm_cache)


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per library and workload (median reported)")
    parser.add_argument("--quick", action="store_true", help="one tenth of the data and one run")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library")
    parser.add_argument("--only", default="", help="comma-separated workloads: photo,customers,blobs,mnist,seeding,minibatch,compile")
    parser.add_argument("--default-runs", type=int, default=None,
                        help="runs of the default-init rows and of scikit-learn's slow MiniBatchKMeans (default: --runs)")
    parser.add_argument("--no-default-init", action="store_true", help="skip the rows where each library seeds itself")
    args = parser.parse_args()
    if args.quick:
        args.runs = 1
    if args.default_runs is None or args.quick:
        args.default_runs = args.runs
    chosen = set(filter(None, args.only.split(","))) or {"photo", "customers", "blobs", "mnist", "seeding", "minibatch", "compile"}

    import faiss
    import numba
    import sklearn
    from threadpoolctl import threadpool_info, threadpool_limits

    import julei

    threadpool_limits(args.threads)
    numba.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)

    print("# julei benchmark")
    print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; threads per library: {args.threads}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"julei {julei.__version__}, scikit-learn {sklearn.__version__}, faiss {faiss.__version__}, "
          f"numba {numba.__version__}, numpy {np.__version__}; runs per row: {args.runs}{' (quick)' if args.quick else ''}")
    for pool in threadpool_info():
        print(f"threadpool: {pool['user_api']} {pool['internal_api']} {pool.get('version')} kernel "
              f"{pool.get('architecture')} threads {pool['num_threads']}")
    bandwidth = memory_bandwidth(args.threads)
    flops = gemm_rate()
    print(f"measured read bandwidth {bandwidth / 1e9:.1f} GB/s, float32 matrix product {flops / 1e9:.1f} GFLOP/s")

    if "compile" in chosen:
        cold, warmup, warm = compile_times()
        print(f"\nfirst fit (2,000 x 4 float32, default parameters) in a new process: {cold:.1f} s with an empty "
              f"numba cache; python -m julei.warmup: {warmup:.1f} s; first fit after it: {warm:.2f} s")

    workloads = []
    if "photo" in chosen:
        workloads.append(("pixels of china.jpg resized", photo_pixels(args.quick), 16))
    if "customers" in chosen:
        workloads.append(("customers, log-normal standardised", customers(args.quick), 6))
    if "blobs" in chosen:
        workloads.append(("Gaussian blobs", gaussian_blobs(args.quick), 100))
    if "mnist" in chosen:
        workloads.append(("MNIST-like synthetic digits", mnist_like(args.quick), 10))
    for name, X, n_clusters in workloads:
        # Load or compile every kernel this data takes once, so that compilation is not timed.
        # The first rows may repeat (photo pixels), which only this untimed fit warns about.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_julei(X, n_clusters, X[:n_clusters], 0, max_iter=2)
        bench_workload(name, X, n_clusters, args, lloyd_bound(X, n_clusters, bandwidth, flops))
    if "seeding" in chosen:
        X = gaussian_blobs(args.quick, n_clusters=1000)
        bench_seeding(X, 100 if args.quick else 1000, args)
    if "minibatch" in chosen:
        bench_minibatch(customers(args.quick), 6, args)


if __name__ == "__main__":
    main()
