"""Tests of the documentation: CLI reference complete and current, README examples true, links valid."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer

from julei.cli import _register_commands, app

REPOSITORY = Path(__file__).resolve().parents[1]
CLI_REFERENCE = REPOSITORY / "docs" / "cli.md"
READMES = [REPOSITORY / "README.md", REPOSITORY / "README.zh-CN.md"]
FIRST_EXAMPLE = (
    "from julei import KMeans\n"
    "\n"
    "X = [[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]]\n"
    "model = KMeans(n_clusters=2, random_state=0).fit(X)\n"
)


def root_command():
    _register_commands()
    return typer.main.get_command(app)


def commands():
    return root_command().commands


def reference_sections():
    """Map ``julei NAME`` to the text of its section in docs/cli.md."""
    text = CLI_REFERENCE.read_text(encoding="utf-8")
    parts = re.split(r"^## `(julei[^`]*)`$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_every_command_documented():
    sections = reference_sections()
    assert "julei" in sections
    for name in commands():
        assert f"julei {name}" in sections


def test_every_option_documented():
    sections = reference_sections()
    documented = {"julei": root_command(), **{f"julei {name}": command for name, command in commands().items()}}
    for name, command in documented.items():
        section = sections[name]
        for parameter in command.params:
            for flag in parameter.opts:
                if flag.startswith("-"):
                    assert re.search(rf"(^|[\s,]){re.escape(flag)}\b", section, flags=re.MULTILINE), f"{flag} of {name}"


def test_cli_reference_current():
    process = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "gen_cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_readme_first_example_runs(readme):
    blocks = [block for block in python_blocks(readme) if block.startswith(FIRST_EXAMPLE)]
    assert len(blocks) == 1
    namespace = {}
    exec(compile(blocks[0].replace("print(", "_ = ("), str(readme), "exec"), namespace)
    labels = namespace["model"].labels_
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] == labels[5]
    assert labels[0] != labels[3]
    centers = sorted(map(tuple, np.round(namespace["model"].cluster_centers_, 6)))
    assert centers == [(1.0, 2.0), (10.0, 2.0)]


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_readme_mentions_setup_commands(readme):
    text = readme.read_text(encoding="utf-8")
    assert "make demo" in text
    assert "make test" in text
    for name in ("report.html", "labels.csv", "clusters.csv", "summary.json"):
        assert name in text


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_readme_links_resolve(readme):
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme.read_text(encoding="utf-8"))
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert local
    missing = [link for link in local if not (readme.parent / link).exists()]
    assert missing == []


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_readme_links_guide_per_command(readme):
    text = readme.read_text(encoding="utf-8")
    for name in commands():
        if name != "demo":
            assert f"docs/guide/{name}.md" in text


def test_guide_options_exist():
    """Every ``--option`` the cluster guide mentions is a real option of ``julei cluster``."""
    text = (REPOSITORY / "docs" / "guide" / "cluster.md").read_text(encoding="utf-8")
    real = {flag for parameter in commands()["cluster"].params for flag in parameter.opts}
    mentioned = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", text))
    assert mentioned
    assert sorted(mentioned - real) == []
