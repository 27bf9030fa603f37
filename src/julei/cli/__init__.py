"""The ``julei`` command: one sub-command per job, each a thin shell over a workflow.

Each job's command lives in its own module of this package (``cluster``, ``customers``,
``image``, ``demo``) and registers itself on `app` when imported. This module holds what
they share: the application object, error handling and exit codes.
"""

import importlib
import logging
import sys

import typer

from julei.exceptions import JuleiError

__all__ = ["app", "main", "EXIT_INPUT", "EXIT_INTERRUPTED"]

EXIT_INPUT = 1
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="julei",
    help="Fast, explainable K-means clustering: tables, customers and images.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = ("cluster", "customers", "image", "demo")


def _register_commands():
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            # A job whose command module is not written yet is simply absent from the menu.
            if exc.name != f"{__name__}.{name}":
                raise


def main(argv=None):
    """Run the command line; return the exit code instead of raising ``SystemExit``."""
    _register_commands()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, standalone_mode=False)
    except KeyboardInterrupt:
        _print_error("interrupted; no partial output was kept.", debug)
        return EXIT_INTERRUPTED
    except JuleiError as exc:
        _print_error(str(exc), debug)
        return EXIT_INPUT
    except typer.Exit as exc:
        return exc.exit_code
    except Exception as exc:  # click's usage errors and anything unexpected
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            _print_error("interrupted; no partial output was kept.", debug)
            return EXIT_INTERRUPTED
        _print_error(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)", debug)
        return 2
    return 0


def _print_error(message, debug):
    if debug:
        logging.getLogger("julei").exception("error")
    print(f"error: {message}", file=sys.stderr)


def entry_point():
    sys.exit(main())
