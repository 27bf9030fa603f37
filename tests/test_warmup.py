"""Tests of the ahead-of-time compilation entry point."""

import numpy as np

from julei import warmup


def test_compile_kernels_runs_every_path():
    # One float type in this process: every estimator path must run without error.
    assert warmup.main(["float32"]) == 0


def test_dtypes_cover_both_float_types():
    assert {np.dtype(name) for name in warmup.DTYPES} == {np.dtype(np.float32), np.dtype(np.float64)}
