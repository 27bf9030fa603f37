"""Benchmark: julei's image segmentation against scikit-learn's KMeans on every pixel.

The input is scikit-learn's sample photo china.jpg (640 x 427), resized to 4000 x 3000 (12
megapixels) with Lanczos resampling, which keeps a photo's colour statistics. Both sides
cluster its pixels in RGB (0..255) with the same k and seed:

- scikit-learn: ``KMeans(n_clusters=k, random_state=seed).fit(pixels)`` on all 12 million
  pixels as float32 (its fastest dtype), n_init 'auto' (one k-means++ run);
- julei: ``segment_image(pixels, k, random_state=seed)``, which deduplicates colours, seeds on
  grouped colours and finishes with Lloyd iterations on the exact distinct colours.

Time is end to end from the decoded pixel array to labels for every pixel and the palette
(reading and decoding the file are excluded on both sides). Quality is the inertia over all
pixels, each pixel assigned to its nearest centre, computed in float64 for both results.
Every figure is the median over ``--runs`` runs, seeds 0, 1, 2, ...; julei runs once first
so that numba's compilation (cached on disk after the first use) is not timed.

Run from the repository root::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/image.py --runs 5
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "china.jpg"


def load_photo(path, size):
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize(size, Image.Resampling.LANCZOS))


def pixel_inertia(pixels, centers, chunk=1 << 20):
    """Sum over pixels of the squared distance to the nearest of ``centers``, in float64."""
    centers = np.asarray(centers, dtype=np.float64)
    centers_sq = (centers**2).sum(axis=1)
    total = 0.0
    flat = pixels.reshape(-1, 3)
    for start in range(0, flat.shape[0], chunk):
        block = flat[start : start + chunk].astype(np.float64)
        distances = (block**2).sum(axis=1)[:, None] - 2.0 * block @ centers.T + centers_sq[None, :]
        total += float(np.maximum(distances.min(axis=1), 0.0).sum())
    return total


def run_sklearn(pixels, k, seed):
    from sklearn.cluster import KMeans

    started = time.perf_counter()
    X = pixels.reshape(-1, 3).astype(np.float32)
    model = KMeans(n_clusters=k, random_state=seed).fit(X)
    labels = model.labels_.reshape(pixels.shape[:2])
    palette = np.rint(np.clip(model.cluster_centers_, 0, 255)).astype(np.uint8)
    seconds = time.perf_counter() - started
    del labels, palette
    return seconds, np.asarray(model.cluster_centers_, np.float64), int(model.n_iter_)


def run_julei(pixels, k, seed):
    from julei.workflows.image import segment_image

    started = time.perf_counter()
    result = segment_image(pixels, k, random_state=seed)
    seconds = time.perf_counter() - started
    return seconds, result.centers, result.n_iter, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per method; figures are medians")
    parser.add_argument("-k", type=int, default=16, help="number of colours")
    parser.add_argument("--size", default="4000x3000", help="width x height of the resized photo")
    parser.add_argument("--image", type=Path, default=DATA, help="photo to resize (default china.jpg)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    if not args.image.exists():
        sys.exit(f"{args.image} not found; pass --image with a photo.")
    width, height = (int(part) for part in args.size.lower().split("x"))
    pixels = load_photo(args.image, (width, height))
    print(f"photo: {args.image.name} resized to {width} x {height} ({width * height / 1e6:.1f} megapixels), k={args.k}")

    run_julei(pixels[:256], args.k, 0)  # compile (or load cached) numba kernels before timing

    rows = []
    for seed in range(args.runs):
        sk_seconds, sk_centers, sk_iter = run_sklearn(pixels, args.k, seed)
        ju_seconds, ju_centers, ju_iter, result = run_julei(pixels, args.k, seed)
        sk_inertia = pixel_inertia(pixels, sk_centers)
        ju_inertia = pixel_inertia(pixels, ju_centers)
        row = {
            "seed": seed,
            "sklearn_seconds": sk_seconds,
            "julei_seconds": ju_seconds,
            "speedup": sk_seconds / ju_seconds,
            "sklearn_inertia": sk_inertia,
            "julei_inertia": ju_inertia,
            "julei_reported_inertia": result.inertia,
            "inertia_ratio": ju_inertia / sk_inertia,
            "sklearn_n_iter": sk_iter,
            "julei_n_iter": ju_iter,
            "distinct_colors": result.n_distinct_colors,
            "julei_timings": {name: round(value, 4) for name, value in result.timings.items()},
        }
        rows.append(row)
        print(
            f"seed {seed}: scikit-learn {sk_seconds:6.2f} s, julei {ju_seconds:5.2f} s "
            f"({row['speedup']:5.1f}x); inertia julei/scikit-learn {row['inertia_ratio']:.5f} "
            f"[julei steps {row['julei_timings']}]"
        )
        del result

    summary = {
        "photo": args.image.name,
        "width": width,
        "height": height,
        "k": args.k,
        "runs": args.runs,
        "distinct_colors": rows[0]["distinct_colors"],
        "median_sklearn_seconds": statistics.median(row["sklearn_seconds"] for row in rows),
        "median_julei_seconds": statistics.median(row["julei_seconds"] for row in rows),
        "median_speedup": statistics.median(row["speedup"] for row in rows),
        "median_inertia_ratio": statistics.median(row["inertia_ratio"] for row in rows),
        "worst_inertia_ratio": max(row["inertia_ratio"] for row in rows),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "rows": rows,
    }
    print(
        f"median over {args.runs} runs: scikit-learn {summary['median_sklearn_seconds']:.2f} s, "
        f"julei {summary['median_julei_seconds']:.2f} s, speedup {summary['median_speedup']:.1f}x; "
        f"inertia ratio median {summary['median_inertia_ratio']:.5f}, worst {summary['worst_inertia_ratio']:.5f} "
        f"({summary['distinct_colors']:,} distinct colours)"
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
