"""``julei demo``: run every job on sample data shipped inside the package.

Each demo job runs one command's ``run`` function (see `julei.cli`) on a file from
``julei/data/`` and writes into its own sub-folder of the demo folder (default
``julei-demo/``). To add a job, append one `DemoJob` to `DEMO_JOBS`::

    DemoJob(name="image", command="image", data="flower.jpg", options={"k": "auto"}),

where ``command`` is the module ``julei.cli.<command>`` and ``options`` are extra keyword
arguments of its ``run``.
"""

import dataclasses
import importlib
import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from julei.cli import (
    DebugOption,
    ForceOption,
    LangOption,
    QuietOption,
    app,
    check_output_folder,
    pick_language,
    say,
)
from julei.i18n import default_language, translator

__all__ = ["DemoJob", "DEMO_JOBS", "DEFAULT_OUT", "data_file", "run"]

DEFAULT_OUT = Path("julei-demo")

_help = translator(default_language())


@dataclasses.dataclass(frozen=True)
class DemoJob:
    """One job of the demo.

    Attributes
    ----------
    name : str
        Sub-folder of the demo folder, and the job's name in messages
        (catalog key ``demo.job.<name>`` describes it).
    command : str
        Module of ``julei.cli`` whose ``run(input_path, *, out, lang, force, quiet, **options)``
        does the job.
    data : str
        File in ``julei/data/`` given as ``input_path``.
    options : dict
        Further keyword arguments of ``run``.
    """

    name: str
    command: str
    data: str
    options: dict = dataclasses.field(default_factory=dict)


DEMO_JOBS = [
    DemoJob(name="cluster", command="cluster", data="retail_customers.csv", options={"k": "auto", "id_column": "customer_id", "log_columns": "auto", "seed": 0}),
    DemoJob(name="customers", command="customers", data="retail_transactions.csv.gz", options={"k": "auto", "seed": 0}),
    DemoJob(name="image", command="image", data="coffee.jpg", options={"k": "8", "space": "lab", "seed": 0}),
]


def data_file(name):
    """Return the path of ``name`` in the package's ``data`` folder."""
    path = Path(str(resources.files("julei").joinpath("data", name)))
    if not path.is_file():
        raise FileNotFoundError(f"demo data {name!r} is missing from the installed package ({path}); reinstall julei.")
    return path


def run(*, out=DEFAULT_OUT, lang=None, force=False, quiet=False, jobs=None):
    """Run ``jobs`` (default every job of `DEMO_JOBS`) and return their `julei.cli.JobOutput` values."""
    lang = pick_language(lang)
    t = translator(lang)
    out = Path(out)
    check_output_folder(out, force=force)
    outputs = []
    for job in jobs if jobs is not None else DEMO_JOBS:
        say(t("demo.running", name=job.name), quiet=quiet, err=True)
        started = time.perf_counter()
        module = importlib.import_module(f"julei.cli.{job.command}")
        output = module.run(data_file(job.data), out=out / job.name, lang=lang, force=force, quiet=quiet, **job.options)
        output.seconds = time.perf_counter() - started
        outputs.append((job, output))
    return outputs


@app.command("demo", help=_help("demo.help.command"))
def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help=_help("demo.help.out"))] = DEFAULT_OUT,
    lang: LangOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
):
    lang_code = pick_language(lang)
    t = translator(lang_code)
    started = time.perf_counter()
    outputs = run(out=out, lang=lang_code, force=force, quiet=quiet)
    say(t("demo.finished", seconds=f"{time.perf_counter() - started:.1f}"), quiet=quiet)
    for job, output in outputs:
        report = output.folder / "report.html"
        say("  " + t("demo.done", name=job.name, report=str(report), seconds=f"{output.seconds:.1f}"), quiet=quiet)
