"""``julei cluster FILE``: cluster the rows of a table and write a report and result files.

The command reads the table, runs `julei.workflows.tabular.run_tabular`, renders the files with
`julei.report.cluster.cluster_files` and writes them into the output folder only once all of
them exist in memory, so a failed or interrupted run leaves no partial output.
"""

import enum
import re
from pathlib import Path
from typing import Annotated

import typer

from julei.cli import (
    DebugOption,
    ForceOption,
    JobOutput,
    LangOption,
    QuietOption,
    app,
    check_output_folder,
    command_argv,
    pick_language,
    progress,
    say,
    write_job_files,
)
from julei.i18n import default_language, translator

__all__ = ["run", "cluster_command", "DEFAULT_OUT"]

DEFAULT_OUT = Path("julei-out")

# Help text follows the locale's language, as the messages do.
_help = translator(default_language())


class Scale(str, enum.Enum):
    standard = "standard"
    robust = "robust"
    minmax = "minmax"
    none = "none"


class Missing(str, enum.Enum):
    drop = "drop"
    mean = "mean"
    median = "median"


def run(
    input_path,
    *,
    out=DEFAULT_OUT,
    lang=None,
    force=False,
    quiet=False,
    k="auto",
    columns=None,
    id_column=None,
    scale="standard",
    missing="drop",
    seed=0,
    log_columns=None,
    encoding=None,
    sheet=None,
    command=None,
):
    """Run ``julei cluster`` on ``input_path`` and write its files into ``out``.

    The keyword arguments are the command's options with the same defaults; ``columns`` is a
    list of column names or one comma-separated string. Returns a `julei.cli.JobOutput`.
    Raises `julei.exceptions.InputError` or `OutputError` on bad input or output.
    """
    from julei.report.cluster import cluster_files
    from julei.workflows.tabular import TabularSettings, parse_k, run_tabular

    lang = pick_language(lang)
    t = translator(lang)
    input_path = Path(input_path)
    k_min, k_max = parse_k(k)
    settings = TabularSettings(
        k_min=k_min,
        k_max=k_max,
        columns=_split_columns(columns),
        id_column=id_column or None,
        scale=getattr(scale, "value", scale),
        missing=getattr(missing, "value", missing),
        seed=seed,
        log_columns=_log_option(log_columns),
        encoding=encoding,
        sheet=sheet,
    )

    # Fail on an unusable output folder before spending time on the data.
    inputs = [input_path] if input_path.exists() else []
    check_output_folder(out, force=force, inputs=inputs)

    with progress(t, quiet=quiet) as step:
        result = run_tabular(input_path, settings, progress=step)
        step("progress.rendering")
        files = cluster_files(result, lang, command=command, input_path=str(input_path))
        step("progress.writing")
        folder = write_job_files(out, files, force=force, inputs=inputs)

    for key, fields in result.notices:
        say(t("cli.note", text=t(key, **fields)), quiet=quiet, err=True)
    return JobOutput(
        folder=folder,
        files=list(files),
        summary_key="cluster.cli.done",
        summary_fields={
            "k": result.k,
            "rows": result.n_kept,
            "total": result.n_rows,
            "seconds": f"{result.seconds['total']:.1f}",
        },
    )


def _log_option(value):
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return value.strip().lower() if isinstance(value, str) else None
    return _split_columns(value)


def _split_columns(columns):
    if not columns:
        return None
    if isinstance(columns, str):
        columns = [columns]
    names = []
    for item in columns:
        # Commas in either width separate names: "a,b" or "收入，年龄".
        names.extend(part.strip() for part in re.split(r"[,，]", item) if part.strip())
    return names or None


@app.command(
    "cluster",
    help=_help("cluster.help.command"),
    epilog=_help("cluster.help.epilog"),
    no_args_is_help=True,
)
def cluster_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=_help("cluster.help.file"), show_default=False)],
    k: Annotated[str, typer.Option("-k", "--k", metavar="N|A..B|auto", help=_help("cluster.help.k"))] = "auto",
    columns: Annotated[str | None, typer.Option("--columns", metavar="A,B,...", help=_help("cluster.help.columns"), show_default=False)] = None,
    id_column: Annotated[str | None, typer.Option("--id-column", metavar="COLUMN", help=_help("cluster.help.id_column"), show_default=False)] = None,
    scale: Annotated[Scale, typer.Option("--scale", help=_help("cluster.help.scale"))] = Scale.standard,
    missing: Annotated[Missing, typer.Option("--missing", help=_help("cluster.help.missing"))] = Missing.drop,
    seed: Annotated[int, typer.Option("--seed", help=_help("cluster.help.seed"))] = 0,
    log_columns: Annotated[str | None, typer.Option("--log-columns", metavar="A,B,...|auto", help=_help("cluster.help.log_columns"), show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help=_help("cluster.help.out"))] = DEFAULT_OUT,
    lang: LangOption = None,
    encoding: Annotated[str | None, typer.Option("--encoding", metavar="NAME", help=_help("cluster.help.encoding"), show_default=False)] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", metavar="SHEET", help=_help("cluster.help.sheet"), show_default=False)] = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
):

    lang_code = pick_language(lang)
    argv = command_argv()
    output = run(
        file,
        out=out,
        lang=lang_code,
        force=force,
        quiet=quiet,
        k=k,
        columns=columns,
        id_column=id_column,
        scale=scale,
        missing=missing,
        seed=seed,
        log_columns=log_columns,
        encoding=encoding,
        sheet=sheet,
        command=argv,
    )
    t = translator(lang_code)
    say(t(output.summary_key, folder=str(output.folder), **output.summary_fields), quiet=quiet)
    for name in output.files:
        say(f"  {output.folder / name}", quiet=quiet)
