"""Tests of the message catalogs: both languages complete, fields matching, every used key present."""

import json
import re
import string
from pathlib import Path

import pytest

from julei.i18n import LANGUAGES, catalog, translator

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "julei"
CATALOGS = PACKAGE / "i18n"
CJK = re.compile(r"[\u4e00-\u9fff]")

# Modules and templates whose user-facing words come from the catalogs.
SOURCES = [
    "cli/__init__.py",
    "cli/cluster.py",
    "cli/demo.py",
    "io/tables.py",
    "workflows/tabular.py",
    "report/cluster.py",
    "report/templates/base.html.j2",
    "report/templates/cluster.html.j2",
]
KEY_PREFIXES = ("cluster.", "error.", "progress.", "cli.", "demo.", "report.")
# Keys built at run time from a setting or a section name, so no literal names them.
DYNAMIC_KEYS = [
    *(f"cluster.scale.{name}" for name in ("standard", "robust", "minmax", "none")),
    *(f"cluster.missing.{name}" for name in ("drop", "mean", "median")),
    "cluster.notice.imputed_mean",
    "cluster.notice.imputed_median",
    *(f"cluster.{name}.title" for name in ("overview", "choose_k", "sizes", "profiles", "rules", "projection", "silhouette", "settings")),
    *(f"cluster.delimiter.{name}" for name in ("comma", "tab", "semicolon", "pipe")),
]
# Messages that are the same in both languages: symbols, names and code.
SAME_IN_CHINESE = {"cluster.setting.k"}


def catalog_pairs():
    names = sorted({path.name.split(".")[0] for path in CATALOGS.glob("*.en.json")})
    return [name for name in names if (CATALOGS / f"{name}.zh.json").exists()]


def load(name, lang):
    return json.loads((CATALOGS / f"{name}.{lang}.json").read_text(encoding="utf-8"))


def fields_of(message):
    return {field for _, field, _, _ in string.Formatter().parse(message) if field is not None}


def used_keys():
    keys = set(DYNAMIC_KEYS)
    pattern = re.compile(r"[\"']((?:%s)[a-z0-9_.]+[a-z0-9_])[\"']" % "|".join(re.escape(prefix) for prefix in KEY_PREFIXES))
    for relative in SOURCES:
        text = (PACKAGE / relative).read_text(encoding="utf-8")
        keys.update(key for key in pattern.findall(text) if not key.endswith((".py", ".json", ".j2", ".html", ".csv")))
    return keys


@pytest.mark.parametrize("name", catalog_pairs())
def test_both_languages_same_keys(name):
    english, chinese = load(name, "en"), load(name, "zh")
    assert sorted(set(english) - set(chinese)) == []
    assert sorted(set(chinese) - set(english)) == []


@pytest.mark.parametrize("name", catalog_pairs())
def test_same_format_fields(name):
    english, chinese = load(name, "en"), load(name, "zh")
    mismatched = {key: (fields_of(english[key]), fields_of(chinese[key])) for key in english if key in chinese and fields_of(english[key]) != fields_of(chinese[key])}
    assert mismatched == {}


@pytest.mark.parametrize("name", ["common", "cluster"])
def test_chinese_is_translated(name):
    english, chinese = load(name, "en"), load(name, "zh")
    untranslated = [key for key, text in chinese.items() if key not in SAME_IN_CHINESE and len(re.findall(r"[A-Za-z]{3,}", english[key])) >= 2 and not CJK.search(text)]
    assert untranslated == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_used_key_exists(lang):
    missing = sorted(used_keys() - set(catalog(lang)))
    assert missing == []


def test_used_keys_found():
    # The scan itself must see the keys, or the test above would pass on nothing.
    keys = used_keys()
    assert "cluster.overview.title" in keys
    assert "error.file_missing" in keys
    assert "progress.choosing_k" in keys
    assert len(keys) > 100


def test_translator_fills_fields():
    assert translator("en")("cluster.name", cluster=2) == "Cluster 2"
    assert translator("zh")("cluster.name", cluster=2) == "簇 2"


def test_catalogs_merged_without_clashes():
    for lang in LANGUAGES:
        merged = catalog(lang)
        total = sum(len(load(name, lang)) for name in catalog_pairs())
        assert len(merged) == total
