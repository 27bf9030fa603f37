"""Numba kernels: numpy arrays in, numpy arrays out.

Kernels trust their input (validated by the estimators), never log or read files, and work
on C-contiguous float32 or float64 data. Parallel loops run over a fixed number of sample
groups (`N_GROUPS`) and reduce the groups' partial results in order, so a result does not
depend on how many threads ran it.
"""
