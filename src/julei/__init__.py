"""julei: fast, correct and explainable K-means clustering."""

import importlib

__version__ = "0.1.0"

__all__ = [
    "KMeans",
    "MiniBatchKMeans",
    "kmeans_plusplus",
    "choose_k",
    "explain",
    "segment_image",
    "__version__",
]

# Public names and the module each comes from. They load on first use, so `import julei`
# (and with it the `julei` command's start-up) does not pay for scikit-learn and numba until
# a job needs them.
_LAZY = {
    "KMeans": "julei.kmeans",
    "kmeans_plusplus": "julei.kmeans",
    "MiniBatchKMeans": "julei.minibatch",
    "choose_k": "julei.selection",
    "explain": "julei.explanation",
    "segment_image": "julei.workflows.image",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'julei' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
