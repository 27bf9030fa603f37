"""Read a table from CSV, TSV, Excel .xlsx, Parquet or JSON Lines into a pandas DataFrame.

The format comes from the file's first bytes where they are unambiguous (a ZIP container is an
.xlsx workbook, ``PAR1`` is Parquet, gzip is decompressed first) and from its extension
otherwise. Text files are decoded as UTF-8 (with or without a byte order mark) or, as Chinese
Excel exports write them, GBK/GB18030; the delimiter is sniffed from the first lines.

Every failure raises `InputError` whose message names the file and the fix. The error also
carries ``key`` and ``fields`` for the message catalogs, so the command line can print it in
the user's language.
"""

import csv
import gzip
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from julei.exceptions import InputError

__all__ = ["Table", "read_table", "input_error", "TEXT_FORMATS", "SUPPORTED_SUFFIXES"]

logger = logging.getLogger(__name__)

TEXT_FORMATS = ("csv", "tsv", "jsonl")
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")

_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}

# Candidate delimiters in order of preference when two fit equally well.
_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_LINES = 50

# "1,234", "-12,345.50": thousands separators as spreadsheets export them.
_THOUSANDS = re.compile(r"^\s*[+-]?\d{1,3}(,\d{3})+(\.\d+)?\s*$")


@dataclass
class Table:
    """A table read from a file, with the facts of how it was read.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows and columns, with numeric columns typed as numbers.
    path : Path
        The file that was read.
    format : str
        ``"csv"``, ``"tsv"``, ``"xlsx"``, ``"parquet"`` or ``"jsonl"``.
    encoding : str or None
        Text encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"gb18030"``, ...); None for binary formats.
    delimiter : str or None
        Field delimiter of CSV/TSV files; None for other formats.
    sheet : str or None
        Worksheet read from an .xlsx workbook.
    compressed : bool
        Whether the file was gzip-compressed.
    sha256 : str
        Hex digest of the file's bytes as stored on disk.
    n_rows, n_columns : int
        Size of ``frame``.
    converted_columns : list of str
        Text columns turned into numbers because every value was a number written with
        thousands separators (``1,234.5``).
    """

    frame: pd.DataFrame
    path: Path
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    compressed: bool = False
    sha256: str = ""
    converted_columns: list = field(default_factory=list)

    @property
    def n_rows(self):
        return len(self.frame)

    @property
    def n_columns(self):
        return self.frame.shape[1]

    def facts(self):
        """Return the read facts as a JSON-ready dictionary (no data)."""
        return {
            "file": self.path.name,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "compressed": self.compressed,
            "sha256": self.sha256,
            "rows": self.n_rows,
            "columns": self.n_columns,
            "converted_columns": list(self.converted_columns),
        }


def input_error(key, message, **fields):
    """Build an `InputError` with an English ``message`` and a catalog ``key`` plus ``fields``.

    The command line looks ``key`` up in the user's language and formats it with ``fields``;
    other callers get the English message.
    """
    error = InputError(message)
    error.key = key
    error.fields = fields
    return error


def read_table(path, *, encoding=None, sheet=None):
    """Read a CSV, TSV, .xlsx, Parquet or JSON Lines file into a `Table`.

    Parameters
    ----------
    path : str or Path
        The file. A ``.gz`` file is decompressed first.
    encoding : str, optional
        Text encoding to use instead of detecting it (for example ``"gbk"``).
    sheet : str or int, optional
        Worksheet of an .xlsx workbook, by name or 0-based position; default the first.

    Returns
    -------
    Table

    Raises
    ------
    InputError
        The file is missing, a folder, empty, binary, in an unsupported format, not decodable
        in ``encoding``, or has no data rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "shops.csv").write_text("shop;sales\\nA;15\\nB;2\\n", encoding="utf-8")
    >>> table = read_table(folder / "shops.csv")
    >>> table.format, table.delimiter, table.n_rows
    ('csv', ';', 2)
    """
    path = Path(path).expanduser()
    name = path.name
    if not path.exists():
        raise input_error(
            "error.file_missing",
            f"input file {str(path)!r} does not exist; check the path and the spelling.",
            path=str(path),
        )
    if path.is_dir():
        raise input_error(
            "error.file_is_folder",
            f"input {str(path)!r} is a folder, not a file; pass one data file.",
            path=str(path),
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise input_error(
            "error.file_unreadable",
            f"cannot read {str(path)!r} ({exc.strerror}); check the file's permissions.",
            path=str(path),
            reason=exc.strerror or str(exc),
        ) from exc
    if not raw.strip():
        raise input_error("error.file_empty", f"input file {name!r} is empty; pass a file with a header row and data rows.", name=name)

    digest = hashlib.sha256(raw).hexdigest()
    compressed = raw[:2] == b"\x1f\x8b"
    if compressed:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise input_error(
                "error.file_corrupt",
                f"{name!r} looks like a gzip file but cannot be decompressed ({exc}); check that the file is complete.",
                name=name,
            ) from exc
        if not raw.strip():
            raise input_error("error.file_empty", f"input file {name!r} is empty; pass a file with a header row and data rows.", name=name)

    fmt = _detect_format(path, raw)
    table = Table(frame=pd.DataFrame(), path=path, format=fmt, compressed=compressed, sha256=digest)
    if fmt == "xlsx":
        table.frame, table.sheet = _read_xlsx(raw, name, sheet)
    elif fmt == "parquet":
        table.frame = _read_parquet(raw, name)
    else:
        text, table.encoding = _decode(raw, name, encoding)
        if fmt == "jsonl":
            table.frame = _read_jsonl(text, name)
        else:
            table.delimiter = "\t" if fmt == "tsv" else _sniff_delimiter(text)
            if table.delimiter == "\t":
                table.format = "tsv"
            table.frame = _read_delimited(text, name, table.delimiter)

    table.frame.columns = _clean_column_names(table.frame.columns)
    if table.frame.shape[1] == 0:
        raise input_error("error.no_columns", f"{name!r} has no columns; pass a table with a header row.", name=name)
    if len(table.frame) == 0:
        raise input_error(
            "error.no_rows",
            f"{name!r} has a header but no data rows; pass a file with at least one row below the header.",
            name=name,
        )
    table.converted_columns = _convert_thousands(table.frame)
    if table.delimiter is not None and table.delimiter != ",":
        # Excel in most of Europe writes "0,125" with ";" between fields.
        table.converted_columns += _convert_decimal_commas(table.frame)
    logger.info("read %s: %s, %d rows x %d columns", name, fmt, table.n_rows, table.n_columns)
    return table


def _detect_format(path, raw):
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    name = path.name

    # Content first: a workbook or Parquet file renamed to .csv is still read correctly.
    if raw[:4] == b"PK\x03\x04":
        return "xlsx"
    if raw[:4] == b"PAR1":
        return "parquet"
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise input_error(
            "error.old_excel",
            f"{name!r} is an old Excel .xls workbook, which julei does not read; save it as .xlsx or CSV in Excel and pass that file.",
            name=name,
        )
    if _looks_binary(raw):
        raise input_error(
            "error.binary_file",
            f"{name!r} is a binary file, not a text table; pass a CSV, TSV, .xlsx, Parquet or JSON Lines file.",
            name=name,
        )
    if suffix in (".xlsx", ".xlsm", ".parquet", ".pq"):
        raise input_error(
            "error.file_corrupt",
            f"{name!r} is named {suffix} but its content is not in that format; check that the file is complete.",
            name=name,
        )
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    head = raw.lstrip()[:1]
    if head == b"{":
        return "jsonl"
    if suffix:
        logger.info("unknown suffix %s; reading %s as delimited text", suffix, name)
    return "csv"


def _looks_binary(raw):
    sample = raw[:8192]
    # UTF-16 text has NUL bytes too, and is not a supported encoding; binary either way.
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13))
    return controls > len(sample) * 0.01


def _decode(raw, name, encoding):
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except LookupError as exc:
            raise input_error(
                "error.encoding_unknown",
                f"encoding {encoding!r} is not known; use a name such as utf-8, gbk or gb18030.",
                encoding=encoding,
            ) from exc
        except UnicodeDecodeError as exc:
            raise input_error(
                "error.encoding_wrong",
                f"{name!r} is not valid {encoding} text (byte {exc.start}); try another --encoding or leave it out to detect it.",
                name=name,
                encoding=encoding,
            ) from exc

    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass

    # Not UTF-8: Chinese Excel writes GBK, of which GB18030 is a superset. Let the detector
    # decide so that a Latin-1 or Windows-1252 file is not read as Chinese.
    import charset_normalizer

    best = charset_normalizer.from_bytes(raw[:200_000]).best()
    detected = best.encoding.lower().replace("_", "") if best is not None else None
    candidates = []
    if detected is None or detected.startswith("gb") or detected in ("hz", "big5", "cp936"):
        candidates.append("gb18030")
    if detected is not None:
        candidates.append(best.encoding)
    candidates.append("gb18030")
    for candidate in dict.fromkeys(candidates):
        try:
            return raw.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
    raise input_error(
        "error.encoding_unknown_file",
        f"cannot tell the text encoding of {name!r}; save it as UTF-8 or pass --encoding (for example --encoding gbk).",
        name=name,
    )


def _sniff_delimiter(text):
    lines = [line for line in text.splitlines()[:_SNIFF_LINES * 2] if line.strip()][:_SNIFF_LINES]
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        counts = [len(row) - 1 for row in csv.reader(lines, delimiter=delimiter)]
        if not counts or counts[0] == 0:
            continue
        # The delimiter that splits the most lines into as many fields as the header wins;
        # among equals the one giving more fields, then the earlier candidate.
        consistent = sum(1 for count in counts if count == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_delimited(text, name, delimiter):
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise input_error("error.no_columns", f"{name!r} has no columns; pass a table with a header row.", name=name) from exc
    except pd.errors.ParserError as exc:
        raise input_error(
            "error.parse_failed",
            f"cannot parse {name!r} as a table ({_first_line(exc)}); check that every row has the same number of fields.",
            name=name,
            reason=_first_line(exc),
        ) from exc


def _read_jsonl(text, name):
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            return pd.read_json(io.StringIO(text))
        return pd.read_json(io.StringIO(text), lines=True)
    except ValueError as exc:
        raise input_error(
            "error.parse_failed",
            f"cannot parse {name!r} as JSON Lines ({_first_line(exc)}); write one JSON object per line.",
            name=name,
            reason=_first_line(exc),
        ) from exc


def _read_xlsx(raw, name, sheet):
    try:
        import openpyxl  # noqa: F401  (pandas needs it; import here to fail with a clear message)

        workbook = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
    except ImportError as exc:
        raise input_error("error.needs_openpyxl", "reading .xlsx needs openpyxl: pip install openpyxl", name=name) from exc
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors on bad files
        raise input_error(
            "error.file_corrupt",
            f"{name!r} is not a readable .xlsx workbook ({type(exc).__name__}); open it in Excel and save it again.",
            name=name,
        ) from exc
    names = workbook.sheet_names
    if sheet is None:
        chosen = names[0]
    elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in names):
        position = int(sheet)
        if not 0 <= position < len(names):
            raise input_error(
                "error.sheet_missing",
                f"{name!r} has no sheet {sheet!r}; its sheets are {names}.",
                name=name,
                sheet=str(sheet),
                sheets=", ".join(names),
            )
        chosen = names[position]
    elif sheet in names:
        chosen = sheet
    else:
        raise input_error(
            "error.sheet_missing",
            f"{name!r} has no sheet {sheet!r}; its sheets are {names}.",
            name=name,
            sheet=str(sheet),
            sheets=", ".join(names),
        )
    frame = pd.read_excel(workbook, sheet_name=chosen)
    # Excel keeps formatted-but-empty rows and columns; they are not data.
    frame = frame.dropna(how="all").dropna(axis=1, how="all").reset_index(drop=True)
    return frame, chosen


def _read_parquet(raw, name):
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError on bad files
        raise input_error(
            "error.file_corrupt",
            f"{name!r} is not a readable Parquet file ({type(exc).__name__}); check that the file is complete.",
            name=name,
        ) from exc


def _clean_column_names(columns):
    names = []
    seen = {}
    for position, column in enumerate(columns):
        text = str(column).strip()
        if not text or text.startswith("Unnamed: "):
            text = f"column_{position + 1}"
        if text in seen:
            seen[text] += 1
            text = f"{text}_{seen[text]}"
        else:
            seen[text] = 1
        names.append(text)
    return names


def _convert_thousands(frame):
    """Turn text columns whose every value is a number like ``1,234.5`` into numbers, in place."""
    return _convert_formatted_numbers(
        frame,
        plain=r"[+-]?(\d+(\.\d*)?|\.\d+)",
        formatted=_THOUSANDS,
        normalize=lambda text: text.str.replace(",", "", regex=False),
    )


# "0,125", "-3,5", "1.234,5": a decimal comma, with "." between thousands.
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?(\d+|\d{1,3}(\.\d{3})+),\d+\s*$")


def _convert_decimal_commas(frame):
    """Turn text columns whose every value is a number like ``0,125`` into numbers, in place."""
    return _convert_formatted_numbers(
        frame,
        plain=r"[+-]?\d+",
        formatted=_DECIMAL_COMMA,
        normalize=lambda text: text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
    )


def _convert_formatted_numbers(frame, *, plain, formatted, normalize):
    """Convert, in place, text columns whose values all match ``plain`` or ``formatted``.

    A column converts only when at least one value matches ``formatted``; ``normalize`` turns
    the stripped text into what `pandas.to_numeric` reads. Returns the converted column names.
    """
    converted = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        values = series.dropna()
        if values.empty or not all(isinstance(value, str) for value in values):
            continue
        text = values.str.strip()
        is_plain = text.str.fullmatch(plain)
        is_formatted = text.str.match(formatted)
        if bool((is_plain | is_formatted).all()) and bool(is_formatted.any()):
            frame[column] = pd.to_numeric(normalize(series.str.strip()))
            converted.append(column)
    return converted


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
