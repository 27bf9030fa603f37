"""Measure how often K-means finds the true cluster structure of Fränti's benchmark sets.

For every set in ``shared/data/franti`` (beside the repository checkout) and every seed, each
method fits the points once, and the run is scored against the ground-truth centres:

- **CI = 0**: share of runs whose Centroid Index to the true centres is 0, i.e. every true
  cluster got a centre of its own (`julei.metrics.centroid_index`).
- **mean CI**: the Centroid Index averaged over the runs.
- **MSE / truth**: the mean squared error of the found centres (every point on its nearest
  centre) divided by that of the ground-truth centres, averaged over the runs. Values below 1
  are possible, because K-means minimises exactly this error.
- **median s**: median wall time of one fit.

The methods are julei's `KMeans` with its defaults, julei without refinement
(``refine=None``, the same runs as scikit-learn's default), and scikit-learn's `KMeans` with
its defaults and with ``n_init=10``. Each method runs all seeds of a set in a process of its
own, after one untimed fit that loads the compiled kernels. In one shared process,
scikit-learn's OpenMP threads and numba's would spin against each other after every switch,
a cost that no user of one library pays. The order of the methods rotates from set to set, so a change of machine
load does not always hit the same one. ``--sweep SET`` adds a table of the refinement budget
(``refine_trials``) on one set.

Usage: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/quality.py
       [--sets s1,a3,...] [--seeds 20] [--threads 2] [--sweep birch1] [--sweep-seeds 10]
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "franti"
SETS = ("s1", "s2", "s4", "a1", "a3", "unbalance", "birch1", "r15", "dim032", "dim064", "dim128", "dim512", "dim1024")
SWEEP_TRIALS = (1, 2, 5, 10, 20, 50, 100)


def load_set(name):
    """Return the points and the ground-truth centres of one set, both float64."""
    points = np.loadtxt(DATA / f"{name}.txt.gz", dtype=np.float64)
    truth = np.loadtxt(DATA / f"{name}-centroids.txt", dtype=np.float64, ndmin=2)
    return np.ascontiguousarray(points), truth


def mean_squared_error(X, centers):
    """Return the mean over samples of the squared distance to the nearest centre."""
    centers = np.asarray(centers, dtype=np.float64)
    total = 0.0
    block = max(1, 2_000_000 // max(1, centers.shape[0] * X.shape[1]))
    for start in range(0, X.shape[0], block):
        rows = X[start : start + block]
        distances = ((rows[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        total += distances.min(axis=1).sum()
    return total / X.shape[0]


METHODS = ("julei default", "julei refine=None", "sklearn default", "sklearn n_init=10")


def make_estimator(method, n_clusters, seed, threads):
    """Return the unfitted estimator of one method: a name of `METHODS` or ``refine_trials=N``.

    julei gets ``n_threads`` explicitly, because its default is every core; scikit-learn's
    threads are limited by threadpoolctl in `worker`.
    """
    from sklearn.cluster import KMeans as SklearnKMeans

    from julei import KMeans

    if method == "julei default":
        return KMeans(n_clusters, random_state=seed, n_threads=threads)
    if method == "julei refine=None":
        return KMeans(n_clusters, random_state=seed, n_threads=threads, refine=None)
    if method == "sklearn default":
        return SklearnKMeans(n_clusters, random_state=seed)
    if method == "sklearn n_init=10":
        return SklearnKMeans(n_clusters, n_init=10, random_state=seed)
    if method.startswith("refine_trials="):
        trials = int(method.split("=", 1)[1])
        return KMeans(n_clusters, random_state=seed, n_threads=threads, refine_trials=trials)
    raise ValueError(f"unknown method {method!r}")


def worker(name, method, seeds, threads):
    """Fit one method for every seed on one set; print the per-run results as JSON."""
    import numba
    from threadpoolctl import threadpool_limits

    from julei.metrics import centroid_index

    threadpool_limits(threads)
    numba.set_num_threads(threads)
    X, truth = load_set(name)
    k = truth.shape[0]
    truth_mse = mean_squared_error(X, truth)

    # One untimed fit loads the compiled kernels and warms the caches.
    make_estimator(method, k, 0, threads).fit(X)

    record = {"ci": [], "relative": [], "mse": [], "seconds": []}
    for seed in seeds:
        estimator = make_estimator(method, k, seed, threads)
        started = time.perf_counter()
        estimator.fit(X)
        seconds = time.perf_counter() - started
        mse = mean_squared_error(X, estimator.cluster_centers_)
        record["ci"].append(centroid_index(estimator.cluster_centers_, truth))
        record["mse"].append(mse)
        record["relative"].append(mse / truth_mse)
        record["seconds"].append(seconds)
    print(json.dumps(record))


def score_runs(name, methods, seeds, threads):
    """Run every method on one set in its own process; return {method: dict of per-run arrays}."""
    runs = {}
    for method in methods:
        command = [
            sys.executable, __file__, "--worker", name, method, "--seeds", str(len(seeds)), "--threads", str(threads),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        runs[method] = {key: np.array(values) for key, values in json.loads(output).items()}
    return runs


def quality_table(names, seeds, threads):
    """Run the methods on every named set and return the markdown lines of the tables."""
    lines = [
        "| set | n | d | k | method | CI = 0 | mean CI | MSE / truth | median s |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    summary = [
        "| set | julei default s / sklearn n_init=10 s | julei default MSE vs sklearn n_init=10 MSE |",
        "| --- | ---: | ---: |",
    ]
    for index, name in enumerate(names):
        X, truth = load_set(name)
        started = time.perf_counter()
        order = METHODS[index % len(METHODS) :] + METHODS[: index % len(METHODS)]
        runs = score_runs(name, order, seeds, threads)
        print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        for method in METHODS:
            record = runs[method]
            lines.append(
                f"| {name} | {X.shape[0]:,} | {X.shape[1]} | {truth.shape[0]} | {method} "
                f"| {np.mean(record['ci'] == 0):.0%} | {record['ci'].mean():.2f} "
                f"| {record['relative'].mean():.4f} | {np.median(record['seconds']):.3f} |"
            )
        ours, reference = runs["julei default"], runs["sklearn n_init=10"]
        time_ratio = np.median(ours["seconds"]) / np.median(reference["seconds"])
        mse_change = ours["mse"].mean() / reference["mse"].mean() - 1.0
        summary.append(f"| {name} | {time_ratio:.2f} | {mse_change:+.4%} |")
    return lines + [""] + summary


def sweep_table(name, seeds, threads):
    """Return the markdown lines of the refinement budget sweep on one set."""
    k = load_set(name)[1].shape[0]
    runs = score_runs(name, [f"refine_trials={trials}" for trials in SWEEP_TRIALS], seeds, threads)
    lines = [
        f"| {name} (k = {k}) | CI = 0 | mean CI | MSE / truth | median s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for method, record in runs.items():
        lines.append(
            f"| {method} | {np.mean(record['ci'] == 0):.0%} | {record['ci'].mean():.2f} "
            f"| {record['relative'].mean():.4f} | {np.median(record['seconds']):.3f} |"
        )
    return lines


def machine_lines(threads):
    """Return markdown lines that describe the machine, the versions and the load."""
    import numba
    import sklearn

    import julei

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return [
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {cpu}, {os.cpu_count()} cores, {threads} threads per library",
        f"- load average when the run started (1, 5, 15 min): {load}",
        f"- versions: julei {julei.__version__}, scikit-learn {sklearn.__version__}, numba {numba.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated set names (default: all)")
    parser.add_argument("--seeds", type=int, default=20, help="seeds per set and method (default 20)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
    parser.add_argument("--sweep", default="", help="set on which to sweep refine_trials, e.g. birch1")
    parser.add_argument("--sweep-seeds", type=int, default=10, help="seeds per budget in the sweep (default 10)")
    parser.add_argument("--worker", nargs=2, metavar=("SET", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker, range(args.seeds), args.threads)
        return

    if not DATA.is_dir():
        parser.error(f"benchmark sets not found in {DATA}; they lie beside the repository checkout")
    names = [name for name in args.sets.split(",") if name]
    unknown = [name for name in names if not (DATA / f"{name}.txt.gz").is_file()]
    if unknown:
        parser.error(f"unknown sets {unknown}; available: {', '.join(SETS)}")

    lines = machine_lines(args.threads) + [""]
    if names:
        lines += quality_table(names, range(args.seeds), args.threads) + [""]
    if args.sweep:
        lines += sweep_table(args.sweep, range(args.sweep_seeds), args.threads) + [""]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines.append(f"- load average when the run ended: {load}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
