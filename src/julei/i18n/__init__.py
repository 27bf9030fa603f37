"""Message catalogs for the command line and the reports, in English and Simplified Chinese.

Each job keeps its own pair of catalogs, ``NAME.en.json`` and ``NAME.zh.json``, in this
folder; `catalog` merges every pair into one dictionary per language. Library exceptions and
log messages stay English and do not go through these catalogs.
"""

import json
import locale
import os
from functools import lru_cache
from importlib import resources

LANGUAGES = ("en", "zh")

__all__ = ["LANGUAGES", "catalog", "default_language", "Translator", "translator"]


def default_language():
    """Pick ``"zh"`` when the locale's language is Chinese, else ``"en"``.

    Reads ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` in that order, as gettext does, then the
    locale that Python reports.
    """
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    try:
        current = locale.getlocale()[0] or ""
    except ValueError:
        current = ""
    return "zh" if current.lower().startswith("zh") else "en"


@lru_cache(maxsize=None)
def catalog(lang):
    """Load and merge every ``*.LANG.json`` catalog of this package into one dictionary."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not supported; use one of {list(LANGUAGES)}.")
    merged = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda item: item.name):
        if entry.name.endswith(f".{lang}.json"):
            messages = json.loads(entry.read_text(encoding="utf-8"))
            duplicated = sorted(set(merged) & set(messages))
            if duplicated:
                raise ValueError(f"catalog {entry.name} repeats keys defined elsewhere: {duplicated}")
            merged.update(messages)
    return merged


class Translator:
    """Look up and format catalog messages in one language.

    ``t("key", name=value)`` returns the message with ``str.format`` fields filled in. A key
    missing from the catalog raises ``KeyError``, so a gap shows up in tests, not on screen.
    """

    def __init__(self, lang):
        self.lang = lang
        self.messages = catalog(lang)

    def __call__(self, key, /, **fields):
        return self.messages[key].format(**fields) if fields else self.messages[key]

    def has(self, key):
        return key in self.messages


def translator(lang=None):
    """Return a `Translator` for ``lang``, or for the locale's language when ``lang`` is None."""
    return Translator(lang or default_language())
