"""``julei customers FILE``: segment customers from a transactions table.

The command reads the table, runs `julei.workflows.customers.segment_customers`, renders the
files with `julei.report.customers.customer_files` and writes them into the output folder only
once all of them exist in memory, so a failed or interrupted run leaves no partial output.
"""

import enum
import re
import time
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

__all__ = ["run", "customers_command", "parse_k", "DEFAULT_OUT", "DEFAULT_K_RANGE"]

DEFAULT_OUT = Path("julei-out")
DEFAULT_K_RANGE = (3, 8)

# Help text follows the locale's language, as the messages do.
_help = translator(default_language())


class Returns(str, enum.Enum):
    net = "net"
    drop = "drop"


def parse_k(text):
    """Parse ``-k``: ``"5"`` gives ``(5, 5)``, ``"3..8"`` (or ``3-8``, ``3:8``) a range, ``"auto"`` 3..8.

    >>> parse_k("5"), parse_k("2..6"), parse_k("auto")
    ((5, 5), (2, 6), (3, 8))
    """
    from julei.io.tables import input_error

    value = str(text).strip().lower()
    if value in ("", "auto"):
        return DEFAULT_K_RANGE
    match = re.fullmatch(r"(\d+)\s*(?:\.\.|-|:|~)\s*(\d+)", value)
    if match:
        k_min, k_max = int(match.group(1)), int(match.group(2))
    elif value.isdigit():
        k_min = k_max = int(value)
    else:
        k_min, k_max = 0, -1
    if k_min < 1 or k_max < k_min:
        raise input_error(
            "customers.error.bad_k",
            f"-k {text!r} is not valid; give a number such as 5, a range such as 3..8, or auto.",
            value=str(text),
        )
    return k_min, k_max


def _split_features(features):
    if not features:
        return ()
    names = []
    for part in re.split(r"[,，\s]+", str(features)):
        part = part.strip().lower()
        if part in ("aov", "average-order-value", "order_value"):
            part = "average_order_value"
        if part:
            names.append(part)
    return tuple(names)


def run(
    input_path,
    *,
    out=DEFAULT_OUT,
    lang=None,
    force=False,
    quiet=False,
    k="auto",
    customer=None,
    order=None,
    date=None,
    amount=None,
    quantity=None,
    price=None,
    date_format=None,
    since=None,
    until=None,
    as_of=None,
    returns="net",
    features=None,
    seed=0,
    encoding=None,
    sheet=None,
    command=None,
):
    """Run ``julei customers`` on ``input_path`` and write its files into ``out``.

    The keyword arguments are the command's options with the same defaults; ``features`` is a
    comma-separated string or a sequence of extra features (``tenure``,
    ``average_order_value``). Returns a `julei.cli.JobOutput`. Raises
    `julei.exceptions.InputError` or `OutputError` on bad input or output.
    """
    from julei.io.tables import read_table
    from julei.io.transactions import parse_day
    from julei.report.customers import customer_files
    from julei.workflows.customers import segment_customers

    started = time.perf_counter()
    lang = pick_language(lang)
    t = translator(lang)
    input_path = Path(input_path)
    k_min, k_max = parse_k(k)
    extra = features if isinstance(features, (list, tuple)) else _split_features(features)
    since_day = parse_day(since, "--since")
    until_day = parse_day(until, "--until")
    as_of_day = parse_day(as_of, "--as-of")

    # Fail on an unusable output folder before spending time on the data.
    inputs = [input_path] if input_path.exists() else []
    check_output_folder(out, force=force, inputs=inputs)

    with progress(t, quiet=quiet) as step:
        step("progress.reading")
        table = read_table(input_path, encoding=encoding, sheet=sheet)
        step("customers.progress.segmenting")
        result = segment_customers(
            table.frame,
            customer=customer,
            order=order,
            date=date,
            quantity=quantity,
            price=price,
            amount=amount,
            date_format=date_format,
            since=since_day,
            until=until_day,
            as_of=as_of_day,
            returns=getattr(returns, "value", returns),
            features=("recency", "frequency", "monetary") + tuple(extra),
            n_clusters=k_min if k_min == k_max else None,
            k_values=range(k_min, k_max + 1),
            random_state=seed,
        )
        step("progress.rendering")
        files = customer_files(result, lang, source=table.facts(), command=command)
        step("progress.writing")
        folder = write_job_files(out, files, force=force, inputs=inputs)

    columns = result.columns
    say(
        t(
            "customers.progress.columns",
            customer=columns["customer"],
            date=columns["date"],
            order=columns["order"] or "–",
            revenue=columns["amount"] or f"{columns['quantity']} × {columns['price']}",
        ),
        quiet=quiet,
        err=True,
    )
    from julei.report.customers import cleaning_notes, segment_names

    for text in cleaning_notes(result, t):
        say(t("cli.note", text=text), quiet=quiet, err=True)
    names = segment_names(result, t)
    for row in result.segments.itertuples(index=False):
        say(
            t(
                "customers.progress.segment",
                segment=row.segment,
                name=names[row.segment],
                customers=row.customers,
                customer_share=f"{row.customer_share * 100:.1f}%",
                revenue_share=f"{row.revenue_share * 100:.1f}%",
            ),
            quiet=quiet,
            err=True,
        )
    return JobOutput(
        folder=folder,
        files=list(files),
        summary_key="customers.progress.done",
        summary_fields={
            "customers": result.n_customers,
            "k": result.k,
            "seconds": f"{time.perf_counter() - started:.1f}",
        },
    )


@app.command(
    "customers",
    help=_help("customers.help.command"),
    epilog=_help("customers.help.epilog"),
    no_args_is_help=True,
)
def customers_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=_help("customers.help.file"), show_default=False)],
    k: Annotated[str, typer.Option("-k", "--k", metavar="N|A..B|auto", help=_help("customers.help.k"))] = "auto",
    customer: Annotated[str | None, typer.Option("--customer", metavar="COLUMN", help=_help("customers.help.customer"), show_default=False)] = None,
    order: Annotated[str | None, typer.Option("--order", metavar="COLUMN", help=_help("customers.help.order"), show_default=False)] = None,
    date: Annotated[str | None, typer.Option("--date", metavar="COLUMN", help=_help("customers.help.date"), show_default=False)] = None,
    amount: Annotated[str | None, typer.Option("--amount", metavar="COLUMN", help=_help("customers.help.amount"), show_default=False)] = None,
    quantity: Annotated[str | None, typer.Option("--quantity", metavar="COLUMN", help=_help("customers.help.quantity"), show_default=False)] = None,
    price: Annotated[str | None, typer.Option("--price", metavar="COLUMN", help=_help("customers.help.price"), show_default=False)] = None,
    date_format: Annotated[str | None, typer.Option("--date-format", metavar="FORMAT", help=_help("customers.help.date_format"), show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", metavar="YYYY-MM-DD", help=_help("customers.help.since"), show_default=False)] = None,
    until: Annotated[str | None, typer.Option("--until", metavar="YYYY-MM-DD", help=_help("customers.help.until"), show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="YYYY-MM-DD", help=_help("customers.help.as_of"), show_default=False)] = None,
    returns: Annotated[Returns, typer.Option("--returns", help=_help("customers.help.returns"))] = Returns.net,
    features: Annotated[str | None, typer.Option("--features", metavar="A,B", help=_help("customers.help.features"), show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help=_help("customers.help.seed"))] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help=_help("customers.help.out"))] = DEFAULT_OUT,
    lang: LangOption = None,
    encoding: Annotated[str | None, typer.Option("--encoding", metavar="NAME", help=_help("customers.help.encoding"), show_default=False)] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", metavar="SHEET", help=_help("customers.help.sheet"), show_default=False)] = None,
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
        customer=customer,
        order=order,
        date=date,
        amount=amount,
        quantity=quantity,
        price=price,
        date_format=date_format,
        since=since,
        until=until,
        as_of=as_of,
        returns=returns,
        features=features,
        seed=seed,
        encoding=encoding,
        sheet=sheet,
        command=argv,
    )
    t = translator(lang_code)
    say(t(output.summary_key, folder=str(output.folder), **output.summary_fields), quiet=quiet)
    for name in output.files:
        say(f"  {output.folder / name}", quiet=quiet)
