"""Exceptions and warnings raised by julei."""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning


class JuleiError(Exception):
    """Base class of the errors that julei raises on purpose."""


class InputError(JuleiError, ValueError):
    """Invalid user input: a file, a column, a value or an option.

    The message is one sentence that names the value received and the fix. The command
    line prints it as one line, without a traceback.
    """


class OutputError(JuleiError, OSError):
    """An output folder or file that cannot be written, or exists without ``--force``."""


class ConvergenceWarning(_SklearnConvergenceWarning):
    """An algorithmic outcome worth knowing: fewer distinct points than clusters, no convergence."""
