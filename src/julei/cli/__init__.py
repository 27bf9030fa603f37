"""The ``julei`` command: one sub-command per job, each a thin shell over a workflow.

Each job's command lives in its own module of this package (``cluster``, ``customers``,
``image``, ``demo``) and registers itself on `app` when imported. This module contains what
they share: the application object, error handling and exit codes, the language choice, and
the stderr console with its progress display. It also writes a job's files into the output
folder, leaving nothing partial behind on failure.

Contract for a job's command module ``julei/cli/NAME.py`` (the demo relies on it):

- it defines ``run(input_path, *, out, lang, force, quiet, **options) -> JobOutput`` that
  does the whole job and writes its files, and
- a typer command on `app` that parses options and calls ``run``.
"""

import dataclasses
import enum
import importlib
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from julei.exceptions import JuleiError, OutputError

try:  # typer 0.29 bundles click as typer._click; older releases install click itself
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:
    from click.exceptions import ClickException as _ClickException
from julei.i18n import LANGUAGES, default_language, translator

__all__ = [
    "app",
    "main",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "JobOutput",
    "pick_language",
    "stderr_console",
    "progress",
    "write_job_files",
    "say",
]

EXIT_INPUT = 1
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="julei",
    help=translator(default_language())("cli.help.app"),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_COMMAND_MODULES = ("cluster", "customers", "image", "demo")


def _print_version(value):
    if value:
        from julei import __version__

        print(f"julei {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help=translator(default_language())("cli.help.version"),
        is_eager=True,
        callback=_print_version,
    ),
):
    """Fast, explainable K-means clustering."""


@dataclasses.dataclass
class JobOutput:
    """Files a job wrote: the output folder, the file names, and the fields of a one-line summary."""

    folder: Path
    files: list
    summary_key: str
    summary_fields: dict
    seconds: float = 0.0


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
    lang = _language_from_args(args)
    if debug:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        status = app(args=args, standalone_mode=False, prog_name="julei")
    except KeyboardInterrupt:
        _print_error(_message(lang, "error.interrupted", "interrupted; no partial output was kept."), debug, lang)
        return EXIT_INTERRUPTED
    except JuleiError as exc:
        key = getattr(exc, "key", None)
        _print_error(_message(lang, key, str(exc), **getattr(exc, "fields", {})), debug, lang)
        return EXIT_INPUT
    except typer.Exit as exc:
        return exc.exit_code
    except Exception as exc:  # click's usage errors and anything unexpected
        if isinstance(exc, _ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, typer.Abort):
            _print_error(_message(lang, "error.interrupted", "interrupted; no partial output was kept."), debug, lang)
            return EXIT_INTERRUPTED
        fallback = f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)"
        _print_error(_message(lang, "error.unexpected", fallback, kind=type(exc).__name__, message=str(exc)), debug, lang)
        return 2
    # Outside standalone mode typer turns Ctrl-C into a return value of 130, and an explicit
    # typer.Exit into its code; the commands themselves return None.
    if status == EXIT_INTERRUPTED:
        _print_error(_message(lang, "error.interrupted", "interrupted; no partial output was kept."), debug, lang)
        return EXIT_INTERRUPTED
    return status if isinstance(status, int) else 0


def entry_point():
    sys.exit(main())


# ---------------------------------------------------------------------------------------
# Language and messages


def pick_language(lang):
    """Return ``lang`` when given, else the locale's language (``"zh"`` or ``"en"``)."""
    if lang is None:
        return default_language()
    value = str(getattr(lang, "value", lang)).lower()
    if value not in LANGUAGES:
        raise typer.BadParameter(f"{value!r} is not supported; use one of {', '.join(LANGUAGES)}.", param_hint="--lang")
    return value


def _language_from_args(args):
    for position, arg in enumerate(args):
        if arg == "--lang" and position + 1 < len(args):
            value = args[position + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        else:
            continue
        if value in LANGUAGES:
            return value
    return default_language()


def _message(lang, key, fallback, **fields):
    """Return catalog message ``key`` in ``lang``, or ``fallback`` when there is none."""
    if not key:
        return fallback
    t = translator(lang)
    if not t.has(key):
        return fallback
    try:
        return t(key, **fields)
    except (KeyError, IndexError, ValueError):
        return fallback


def _print_error(message, debug, lang="en"):
    if debug and sys.exc_info()[0] is not None:
        logging.getLogger("julei").exception("error")
    prefix = _message(lang, "error.prefix", "error")
    print(f"{prefix}: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# Console and progress


def stderr_console():
    """Return a rich console on stderr (progress and notices; results go to stdout)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def say(text, *, quiet=False, err=False):
    """Print one line of ``text`` to stdout (``err=False``) or stderr, unless ``quiet``."""
    if not quiet:
        print(text, file=sys.stderr if err else sys.stdout, flush=True)


@contextmanager
def progress(t, *, quiet=False):
    """Show a spinner with the current step on stderr; yield ``step(key)`` to change its text.

    ``step`` takes a catalog key (``"progress.reading"``, ...). Nothing is shown under
    ``quiet`` or when stderr is not a terminal, so logs and pipes stay clean.
    """
    console = stderr_console()
    if quiet or not console.is_terminal:
        yield lambda key: None
        return
    with console.status(t("progress.start"), spinner="dots") as status:

        def step(key):
            status.update(t(key) if t.has(key) else key)

        yield step


# ---------------------------------------------------------------------------------------
# Output folder


def check_output_folder(out, *, force, inputs=()):
    """Fail early, before any computing, when ``out`` could not take the results.

    Nothing is created here; `write_job_files` creates the folder once the results exist.
    Returns the folder as a resolved ``Path``.
    """
    out = Path(out).expanduser().resolve()
    for source in inputs:
        source = Path(source).expanduser().resolve()
        if source == out or out in source.parents:
            raise _output_error(
                "error.out_contains_input",
                f"output folder {str(out)!r} contains the input {source.name!r}; choose another folder with --out.",
                out=str(out),
                name=source.name,
            )
    if out.exists() and not out.is_dir():
        raise _output_error(
            "error.out_is_file",
            f"output path {str(out)!r} is a file, not a folder; choose a folder with --out.",
            out=str(out),
        )
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise _output_error(
                "error.out_exists",
                f"output folder {str(out)!r} is not empty; pass --force to write the results into it (earlier julei results there are replaced, other files stay) or choose another folder with --out.",
                out=str(out),
            )
        target = out
    else:
        # The nearest existing parent must be a folder this process may create folders in.
        target = out.parent
        while not target.exists():
            target = target.parent
    if not target.is_dir() or not os.access(target, os.W_OK | os.X_OK):
        raise _output_error(
            "error.out_not_writable",
            f"cannot write into output folder {str(out)!r}: {str(target)!r} is not a writable folder; choose another folder with --out.",
            out=str(out),
            parent=str(target),
        )
    return out


def _output_error(key, message, **fields):
    error = OutputError(message)
    error.key = key
    error.fields = fields
    return error


def write_job_files(out, files, *, force, inputs=()):
    """Write ``files`` (name -> bytes) into the folder ``out``, all or nothing.

    Each file is written atomically. When anything fails, or the user presses Ctrl-C, the
    files written so far are removed again, and so is the folder when this call created it.
    With ``force``, an earlier result's files of the same names are replaced. Once every file is
    written, the files of an earlier julei run that this one did not rewrite are removed (see
    `julei.output.replace_results_record`), so the folder never mixes two runs' results.
    Returns the folder as a resolved ``Path``.
    """
    from julei.output import atomic_write_bytes, prepare_output_dir, replace_results_record

    out = Path(out).expanduser()
    existed = out.exists()
    folder = prepare_output_dir(out, force=force, inputs=inputs)
    written = []
    try:
        for name, data in files.items():
            atomic_write_bytes(folder / name, data)
            written.append(name)
        replace_results_record(folder, list(files))
    except BaseException:
        for name in files:
            (folder / name).unlink(missing_ok=True)
        if not existed:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


###############################################################################
# Options every command shares


class Language(str, enum.Enum):
    en = "en"
    zh = "zh"


# Help text follows the locale's language, as the messages do.
_help = translator(default_language())

LangOption = Annotated[Language | None, typer.Option("--lang", help=_help("cli.help.lang"), show_default=False)]
ForceOption = Annotated[bool, typer.Option("--force", help=_help("cli.help.force"))]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help=_help("cli.help.quiet"))]
DebugOption = Annotated[bool, typer.Option("--debug", help=_help("cli.help.debug"))]


def command_argv():
    """Return the command line as typed, for summary.json, or None when julei runs embedded."""
    if sys.argv and Path(sys.argv[0]).name in ("julei", "__main__.py"):
        return sys.argv[1:]
    return None

