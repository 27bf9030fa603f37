"""Atomic writing of result files into one output folder."""

import json
import os
import shutil
import tempfile
from pathlib import Path

from julei.exceptions import OutputError

__all__ = [
    "prepare_output_dir",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_write_csv",
    "RESULTS_RECORD",
    "replace_results_record",
]

# Hidden file in an output folder that lists the files the last julei run wrote there, one
# relative path a line, so a later run with --force can remove the ones it does not rewrite.
RESULTS_RECORD = ".julei-results"


def prepare_output_dir(path, *, force=False, inputs=()):
    """Create the output folder ``path``, or check that it may be reused.

    An existing non-empty folder is reused only with ``force=True``; its old files are then
    overwritten one by one as new ones are written. A folder that contains one of ``inputs``
    is rejected, so results never land over the data they came from.

    Returns the folder as a resolved ``Path``.
    """
    out = Path(path).expanduser().resolve()
    for source in inputs:
        source = Path(source).expanduser().resolve()
        if source == out or out in source.parents:
            raise OutputError(
                f"output folder {str(out)!r} contains the input {source.name!r}; "
                "choose another folder with --out."
            )
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {str(out)!r} is a file, not a folder; choose a folder with --out.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(
            f"output folder {str(out)!r} is not empty; pass --force to write the results into "
            "it (earlier julei results there are replaced, other files stay) or choose another "
            "folder with --out."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create output folder {str(out)!r} ({exc.strerror}); choose a writable folder with --out."
        ) from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {str(out)!r} is not writable; choose a writable folder with --out.")
    return out


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A reader sees either the old file or the complete new one, never a partial file, and an
    interrupted write leaves no temporary file behind.
    """
    path = Path(path)
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r} ({exc.strerror}); choose a writable folder with --out.") from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        # Also on KeyboardInterrupt: no half-written temporary file may stay behind.
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text, encoding="utf-8"):
    """Write ``text`` atomically (see `atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path, payload):
    """Write ``payload`` as indented UTF-8 JSON atomically, keeping non-ASCII text readable."""
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default)
    return atomic_write_text(path, text + "\n")


def atomic_write_csv(path, frame, **to_csv_kwargs):
    """Write a pandas DataFrame as UTF-8 CSV atomically; ``index=False`` unless given."""
    to_csv_kwargs.setdefault("index", False)
    text = frame.to_csv(**to_csv_kwargs)
    return atomic_write_text(path, text)


def _json_default(value):
    # numpy scalars and arrays, paths and timestamps appear in summaries.
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def remove_tree_quietly(path):
    """Remove a folder made by an interrupted run; errors are ignored."""
    shutil.rmtree(path, ignore_errors=True)


def replace_results_record(folder, names):
    """Remove the files an earlier run recorded in ``folder`` that ``names`` does not rewrite.

    Call this after every new file is written, so a failed run leaves the earlier results in
    place. Only files named in the record are removed, never other files of the folder, and
    never a path that leads outside it. Sub-folders emptied by the removal go too. Then the
    record lists ``names``.
    """
    folder = Path(folder).resolve()
    record = folder / RESULTS_RECORD
    keep = {str(Path(name)) for name in names}
    try:
        previous = record.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        previous = []
    for name in previous:
        name = name.strip()
        if not name or str(Path(name)) in keep:
            continue
        path = (folder / name).resolve()
        if folder not in path.parents or not path.is_file():
            continue
        path.unlink()
        parent = path.parent
        while parent != folder and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    atomic_write_text(record, "".join(f"{name}\n" for name in sorted(keep)))

