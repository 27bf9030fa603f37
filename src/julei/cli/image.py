"""``julei image FILE...``: segment images by colour and write the pictures, palettes and a report.

One image writes its files straight into the output folder. Several files, or a folder, make
a batch: each image gets a sub-folder named after it, and report.html and summary.json at the
top cover them all. An image that cannot be read or segmented is reported and skipped, the
others still finish, and the exit code is 1. Each file is written atomically; when the run
is interrupted or fails as a whole, every file it wrote is removed again.
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
)
from julei.exceptions import InputError
from julei.i18n import default_language, translator
from julei.io.tables import input_error

__all__ = ["run", "image_command", "parse_colors", "collect_images", "DEFAULT_OUT"]

DEFAULT_OUT = Path("julei-out")

# Help text follows the locale's language, as the messages do.
_help = translator(default_language())

_RANGE = re.compile(r"^\s*(\d+)\s*(?:\.\.|-|:)\s*(\d+)\s*$")


class Space(str, enum.Enum):
    rgb = "rgb"
    lab = "lab"


def parse_colors(text):
    """Parse the ``-k`` option: ``"8"``, ``"auto"`` or a range ``"2..12"`` (auto within it).

    Returns ``(n_colors, k_range)`` for `julei.workflows.image.segment_image`.
    """
    from julei.workflows.image import DEFAULT_K_RANGE, MAX_COLORS

    value = str(text).strip().lower()
    if value == "auto":
        return "auto", DEFAULT_K_RANGE
    if value.isdigit() and 1 <= int(value) <= MAX_COLORS:
        return int(value), DEFAULT_K_RANGE
    match = _RANGE.match(value)
    if match:
        low, high = int(match.group(1)), int(match.group(2))
        if 1 <= low <= high <= MAX_COLORS:
            return "auto", (low, high)
    raise input_error(
        "image.error.k_invalid",
        f"-k {text} is invalid; use a number of colours from 1 to {MAX_COLORS}, a range such as 2..12, or auto.",
        value=str(text), max=MAX_COLORS,
    )


def collect_images(paths):
    """Expand folders into their image files and drop repeats; return ``(files, is_batch)``.

    A missing path is kept, so that it is reported as a failed image in its turn.
    """
    from julei.io.images import list_image_files

    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, seen, is_batch = [], set(), len(paths) > 1
    for path in map(Path, paths):
        if path.is_dir():
            is_batch = True
            found = list_image_files(path)
            if not found:
                raise input_error(
                    "image.error.empty_folder",
                    f"folder {str(path)!r} contains no image files (.jpg, .png, .webp, .tif, .bmp, .gif).",
                    path=str(path),
                )
        else:
            found = [path]
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, is_batch


def run(
    input_path,
    *,
    out=DEFAULT_OUT,
    lang=None,
    force=False,
    quiet=False,
    k="8",
    space="rgb",
    spatial=0.0,
    seed=0,
    max_megapixels=300,
    command=None,
):
    """Run ``julei image`` on ``input_path`` (a file, a folder or a list of them) into ``out``.

    The keyword arguments are the command's options with the same defaults. Returns a
    `julei.cli.JobOutput` whose ``summary_fields`` include ``failed``, the number of images
    that could not be processed. Raises `InputError` when the options are invalid or every
    image failed, and `OutputError` when ``out`` cannot be written.
    """
    lang = pick_language(lang)
    t = translator(lang)
    space = getattr(space, "value", space)
    n_colors, k_range = parse_colors(k)
    if not (isinstance(spatial, (int, float)) and spatial >= 0):
        raise InputError(f"--spatial {spatial} is invalid; use a weight of 0 or more, e.g. 1.")
    if not max_megapixels > 0:
        raise InputError(f"--max-megapixels {max_megapixels} is invalid; use a positive number such as 300.")
    files, is_batch = collect_images(input_path)
    settings = {
        "n_colors": n_colors if n_colors != "auto" else f"auto ({k_range[0]}..{k_range[1]})",
        "space": space,
        "spatial": float(spatial),
        "seed": seed,
        "max_megapixels": max_megapixels,
    }

    # Fail on an unusable output folder before spending time on the images.
    check_output_folder(out, force=force, inputs=[file for file in files if file.exists()])
    writer = _Writer(out, force=force, inputs=[file for file in files if file.exists()])
    sections, failures, written = [], [], []
    folders = _folder_names(files) if is_batch else [None] * len(files)

    try:
        with progress(t, quiet=quiet) as step:
            for index, (file, folder) in enumerate(zip(files, folders), start=1):
                step(t("image.progress.file", name=file.name, index=index, total=len(files)))
                try:
                    section, names = _process_one(
                        file, folder, writer, t,
                        n_colors=n_colors, k_range=k_range, space=space, spatial=spatial, seed=seed,
                        max_pixels=int(max_megapixels * 1_000_000),
                    )
                except InputError as exc:
                    if not is_batch:
                        raise
                    reason = _translated(t, exc)
                    failures.append((file.name, reason))
                    say(t("image.cli.failed_one", name=file.name, reason=reason), quiet=quiet, err=True)
                    continue
                sections.append(section)
                written.extend(names)
                _print_notices(t, section, quiet)
                say(t("image.cli.image_done", name=file.name, k=section["n_colors"], distinct=section["distinct"],
                      seconds=f"{section['seconds']:.2f}"), quiet=quiet, err=True)

            if not sections:
                name, reason = failures[0]
                raise input_error(
                    "image.error.all_failed",
                    f"none of the {len(files)} images could be processed; the first failure: {name}: {reason}",
                    total=len(files), name=name, reason=reason,
                )

            step(t("progress.rendering"))
            import json

            from julei.report.image import report_html, summary_payload

            html = report_html(sections, failures, lang, settings=settings, command=command)
            summary = summary_payload(sections, failures, settings=settings, command=command)
            writer.write("report.html", html)
            writer.write("summary.json", (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
            written.extend(["report.html", "summary.json"])
            writer.finish()
    except BaseException:
        writer.undo()
        raise

    return JobOutput(
        folder=writer.folder,
        files=written,
        summary_key="image.cli.done",
        summary_fields={
            "images": len(sections),
            "failed": len(failures),
            "failed_names": ", ".join(name for name, _ in failures),
        },
    )


def _process_one(file, folder, writer, t, *, n_colors, k_range, space, spatial, seed, max_pixels):
    """Read, segment and write one image; return its report section and the files written."""
    from julei.io.images import read_image
    from julei.report.image import image_files, image_section
    from julei.workflows.image import segment_image

    data = read_image(file, max_pixels=max_pixels)
    result = segment_image(data, n_colors, space=space, spatial=spatial, k_range=k_range, random_state=seed)
    files = image_files(result)
    section = image_section(result, t, folder=folder)
    del result, data  # a batch keeps only the thumbnails of earlier images

    names = []
    for name, payload in files.items():
        relative = f"{folder}/{name}" if folder else name
        writer.write(relative, payload)
        names.append(relative)
    return section, names


class _Writer:
    """Write files into the output folder atomically and remove them all on `undo`."""

    def __init__(self, out, *, force, inputs):
        self.out = Path(out).expanduser()
        self.force = force
        self.inputs = inputs
        self.existed = self.out.exists()
        self.folder = None
        self.paths = []
        self.made_folders = []

    def write(self, relative, payload):
        from julei.output import atomic_write_bytes, prepare_output_dir

        if self.folder is None:
            self.folder = prepare_output_dir(self.out, force=self.force, inputs=self.inputs)
        path = self.folder / relative
        if not path.parent.exists():
            path.parent.mkdir(parents=True)
            self.made_folders.append(path.parent)
        atomic_write_bytes(path, payload)
        self.paths.append(path)

    def finish(self):
        """Record the files written, removing those of an earlier run that were not rewritten."""
        from julei.output import replace_results_record

        replace_results_record(self.folder, [path.relative_to(self.folder) for path in self.paths])

    def undo(self):
        import shutil

        for path in self.paths:
            path.unlink(missing_ok=True)
        for folder in reversed(self.made_folders):
            shutil.rmtree(folder, ignore_errors=True)
        if self.folder is not None and not self.existed:
            shutil.rmtree(self.folder, ignore_errors=True)


def _folder_names(files):
    """Name each image's sub-folder after its file, unique even for photo.jpg and photo.png."""
    stems = [file.stem for file in files]
    names, used = [], set()
    for file, stem in zip(files, stems):
        name = stem if stems.count(stem) == 1 else f"{stem}_{file.suffix.lstrip('.').lower()}"
        base, counter = name, 2
        while name.lower() in used:
            name, counter = f"{base}_{counter}", counter + 1
        used.add(name.lower())
        names.append(name)
    return names


def _translated(t, exc):
    key = getattr(exc, "key", None)
    if key and t.has(key):
        try:
            return t(key, **getattr(exc, "fields", {}))
        except (KeyError, IndexError, ValueError):
            pass
    return str(exc)


def _print_notices(t, section, quiet):
    for text in section["notices"]:
        say(t("cli.note", text=f"{section['name']}: {text}"), quiet=quiet, err=True)


@app.command(
    "image",
    help=_help("image.help.command"),
    epilog=_help("image.help.epilog"),
    no_args_is_help=True,
)
def image_command(
    files: Annotated[list[Path], typer.Argument(help=_help("image.help.files"), metavar="FILE", show_default=False)],
    k: Annotated[str, typer.Option("-k", "--k", help=_help("image.help.k"))] = "8",
    space: Annotated[Space, typer.Option("--space", help=_help("image.help.space"))] = Space.rgb,
    spatial: Annotated[float, typer.Option("--spatial", min=0.0, help=_help("image.help.spatial"))] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help=_help("image.help.seed"))] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help=_help("image.help.out"))] = DEFAULT_OUT,
    max_megapixels: Annotated[float, typer.Option("--max-megapixels", min=1.0, help=_help("image.help.max_megapixels"))] = 300.0,
    lang: LangOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
):
    lang_code = pick_language(lang)
    argv = command_argv()
    output = run(
        files,
        out=out,
        lang=lang_code,
        force=force,
        quiet=quiet,
        k=k,
        space=space,
        spatial=spatial,
        seed=seed,
        max_megapixels=max_megapixels,
        command=argv,
    )
    t = translator(lang_code)
    say(t("image.cli.done", folder=str(output.folder), **output.summary_fields), quiet=quiet)
    for name in output.files:
        say(f"  {output.folder / name}", quiet=quiet)
    if output.summary_fields["failed"]:
        # Shown even with --quiet, as an error line with exit code 1: the other images are
        # written, but the run as a whole did not do everything it was asked to.
        fields = output.summary_fields
        raise input_error(
            "image.cli.failed_summary",
            f"{fields['failed']} image(s) failed: {fields['failed_names']}",
            **fields,
        )
