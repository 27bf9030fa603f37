"""Tests of the HTML report: the framework, figures, and the cluster report in both languages."""

import html.parser
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from julei.report import figures
from julei.report.cluster import SECTION_IDS, cluster_files
from julei.report.render import format_number, format_percent, html_table, render_html
from julei.workflows.tabular import TabularSettings, run_tabular

# Elements that never need a closing tag in HTML.
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Attributes through which a page loads or links to another resource.
URL_ATTRIBUTE = re.compile(r"""\b(?:src|href|xlink:href|action|poster)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


class StructureChecker(html.parser.HTMLParser):
    """Collect ids and check that every opened element is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.ids = []
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)

    def handle_endtag(self, tag):
        if tag in VOID_ELEMENTS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()


def check_structure(page):
    checker = StructureChecker()
    checker.feed(page)
    checker.close()
    return checker


def external_references(page):
    """Every URL the page would load or link to that is not in the page itself."""
    found = [url for url in URL_ATTRIBUTE.findall(page) if not url.startswith(("#", "data:"))]
    found += re.findall(r"url\(\s*['\"]?(?!#|data:)([^)'\"]+)", page)
    found += re.findall(r"@import", page)
    return found


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0, 5.0], [6.0, 0.0, 0.0], [0.0, 6.0, 2.0]])
    points = np.vstack([center + rng.normal(scale=0.7, size=(25, 3)) for center in centers])
    frame = pd.DataFrame(
        {
            "编号": np.arange(75),
            "收入（元）": points[:, 0],
            "visits": points[:, 1],
            "basket <b>size</b>": points[:, 2],
            "city": np.repeat(["北京", "上海", "广州"], 25),
        }
    )
    return run_tabular(frame, TabularSettings(k_min=2, k_max=4, seed=0))


@pytest.fixture(scope="module")
def pages(result):
    return {lang: cluster_files(result, lang)["report.html"].decode("utf-8") for lang in ("en", "zh")}


def test_format_number():
    assert format_number(1234567) == "1,234,567"
    assert format_number(1234.5678) == "1,235"
    assert format_number(3.14159) == "3.142"
    assert format_number(0.000123456) == "0.0001235"
    assert format_number(float("nan")) == "–"
    assert format_number(None) == "–"
    assert format_percent(0.1234) == "12.3%"


def test_html_table_escapes():
    frame = pd.DataFrame({"name<": ["<script>"], "value": [1.5]})
    markup = str(html_table(frame))
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    assert '<td class="num">1.5</td>' in markup


def test_figure_svg_keeps_chinese_text():
    fig, ax = figures.new_figure(3, 2)
    ax.plot([1, 2, 3], [2, 1, 3])
    ax.set_xlabel("收入（元）")
    ax.set_title("簇 0 <特征>")
    svg = str(figures.figure_svg(fig, title="标题"))
    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    assert "收入（元）" in svg
    assert "簇 0 &lt;特征&gt;" in svg
    assert "Noto Sans CJK SC" in svg
    assert "<title>标题</title>" in svg
    assert 'width="' not in svg.split(">", 1)[0]


def test_figure_ids_unique_across_figures():
    svgs = []
    for _ in range(2):
        fig, ax = figures.new_figure(3, 2)
        ax.plot([0, 1], [0, 1])
        svgs.append(str(figures.figure_svg(fig)))
    ids = [re.findall(r'\bid="([^"]+)"', svg) for svg in svgs]
    assert ids[0] and ids[1]
    assert set(ids[0]).isdisjoint(ids[1])
    for svg in svgs:
        declared = set(re.findall(r'\bid="([^"]+)"', svg))
        referenced = set(re.findall(r"url\(#([^)]+)\)", svg)) | set(re.findall(r'href="#([^"]+)"', svg))
        assert referenced <= declared


def test_png_uri_roundtrip():
    image = np.zeros((4, 5, 3), dtype=np.uint8)
    uri = figures.png_uri(image)
    assert uri.startswith("data:image/png;base64,")
    assert 'alt="a &lt;b&gt;"' in str(figures.image_tag(image, alt="a <b>"))


def test_render_rejects_unknown_language():
    with pytest.raises(ValueError, match="lang='fr' is not supported"):
        render_html("cluster.html.j2", {}, "fr")


@pytest.mark.parametrize("lang, html_lang", [("en", "en"), ("zh", "zh-CN")])
def test_report_structure(pages, lang, html_lang):
    page = pages[lang]
    assert page.startswith("<!DOCTYPE html>")
    assert f'<html lang="{html_lang}">' in page
    checker = check_structure(page)
    assert checker.errors == []
    assert checker.stack == []
    assert len(checker.ids) == len(set(checker.ids))
    for section in SECTION_IDS:
        assert section in checker.ids
        assert f'href="#{section}"' in page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_self_contained(pages, lang):
    page = pages[lang]
    assert external_references(page) == []
    assert "<script" not in page
    assert "Content-Security-Policy" in page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_has_figures(pages, lang):
    page = pages[lang]
    # Elbow, silhouette by k, sizes, heatmap, projection, silhouette plot.
    assert page.count('<svg class="figure-svg"') == 6
    assert "收入（元）" in page


def test_report_escapes_column_names(pages):
    assert "basket <b>size</b>" not in pages["en"]
    assert "basket &lt;b&gt;size&lt;/b&gt;" in pages["en"]


def test_report_languages_differ(pages):
    assert "Data overview" in pages["en"]
    assert "数据概览" in pages["zh"]
    assert "Data overview" not in pages["zh"]
    assert "How k was chosen" not in pages["zh"]


def test_report_notices_shown(pages):
    assert "Text columns left out: city" in pages["en"]
    assert "以下文本列未参与聚类：city" in pages["zh"]


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


NO_CHROMIUM = "no Chromium on PATH; install it (apt-get install chromium) to test the report in a browser"


def chromium_command(profile):
    return [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}"]


def load_in_chromium(page_path, profile):
    """Load a page in headless Chromium; return its console messages and the rendered DOM."""
    process = subprocess.run(
        [*chromium_command(profile), "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000", "--dump-dom", page_path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    # Chromium logs each console message, CSP violations included, as a line with "CONSOLE".
    console = [line for line in process.stderr.splitlines() if ":CONSOLE" in line or "Refused to" in line]
    return console, process.stdout


@pytest.mark.skipif(find_chromium() is None, reason=NO_CHROMIUM)
def test_browser_check_sees_console_errors(tmp_path):
    # A page whose inline script the policy blocks: the check must report it.
    page_path = tmp_path / "broken.html"
    page_path.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
        "</head><body><script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    console, _ = load_in_chromium(page_path, tmp_path / "profile")
    assert len(console) == 1
    assert "Content Security Policy" in console[0]


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is None, reason=NO_CHROMIUM)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_in_browser(pages, lang, tmp_path):
    from PIL import Image

    page_path = tmp_path / "report.html"
    page_path.write_text(pages[lang], encoding="utf-8")
    console, dom = load_in_chromium(page_path, tmp_path / "profile")
    assert console == []
    for section in SECTION_IDS:
        assert f'id="{section}"' in dom

    screenshot = tmp_path / "page.png"
    shot = subprocess.run(
        [*chromium_command(tmp_path / "profile"), "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={screenshot}", page_path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    image = np.asarray(Image.open(screenshot).convert("L"))
    assert image.shape == (2400, 1280)
    # A drawn page has text and figures: far from one flat colour.
    assert image.std() > 20
