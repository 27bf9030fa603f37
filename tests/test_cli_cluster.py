"""Tests of the ``julei cluster`` and ``julei demo`` commands, run as subprocesses."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

# Plain English messages whatever the machine's locale; no colour codes.
ENV = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}
ENV.pop("LC_MESSAGES", None)
# The hidden record lists the results, so a later run with --force can replace them.
RESULT_FILES = {"report.html", "labels.csv", "clusters.csv", "summary.json", ".julei-results"}


def julei(*args, cwd=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "julei", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=ENV,
        timeout=timeout,
    )


def assert_one_error_line(process, *fragments):
    """The command failed with exit code 1 and one ``error: ...`` line holding every fragment."""
    assert process.returncode == 1, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in process.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def table_csv(tmp_path):
    """60 rows in three separated groups, with an id column and a text column."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    points = np.vstack([center + rng.normal(scale=0.6, size=(20, 2)) for center in centers])
    frame = pd.DataFrame(
        {
            "shop_id": np.arange(1, 61),
            "region": np.repeat(["north", "south", "west"], 20),
            "revenue": points[:, 0].round(3),
            "visits": points[:, 1].round(3),
        }
    )
    data = tmp_path / "data"
    data.mkdir()
    path = data / "shops.csv"
    frame.to_csv(path, index=False)
    return path


def test_writes_all_files(table_csv, tmp_path):
    out = tmp_path / "result"
    process = julei("cluster", table_csv, "-k", "2..4", "--out", out, "--lang", "en")
    assert process.returncode == 0, process.stderr
    assert {path.name for path in out.iterdir()} == RESULT_FILES
    assert "k = 3" in process.stdout
    assert "note: Text columns left out: region" in process.stderr

    labels = pd.read_csv(out / "labels.csv")
    original = pd.read_csv(table_csv)
    assert list(labels.columns) == [*original.columns, "cluster"]
    pd.testing.assert_frame_equal(labels[original.columns], original)
    assert labels.groupby("region")["cluster"].nunique().tolist() == [1, 1, 1]

    clusters = pd.read_csv(out / "clusters.csv")
    assert clusters["size"].tolist() == [20, 20, 20]
    assert list(clusters.columns) == ["cluster", "size", "share", "revenue", "visits"]

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["sha256"] == hashlib.sha256(table_csv.read_bytes()).hexdigest()
    assert summary["input"]["file"] == "shops.csv"
    assert summary["k"] == 3
    assert summary["k_reason"]["text"]
    assert summary["rows"] == {"read": 60, "kept": 60, "dropped": {"missing_values": 0}}
    assert summary["sizes"] == [20, 20, 20]
    assert summary["settings"]["k_min"] == 2
    assert summary["settings"]["k_max"] == 4
    assert summary["features"]["left_out_identifier"] == ["shop_id"]
    assert summary["seconds"]["total"] > 0
    assert summary["julei_version"]


def test_default_out_and_force(table_csv, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    first = julei("cluster", table_csv, "-k", "3", "--quiet", cwd=work)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""
    assert first.stderr == ""
    out = work / "julei-out"
    assert {path.name for path in out.iterdir()} == RESULT_FILES
    assert not (table_csv.parent / "julei-out").exists()
    stamp = (out / "summary.json").stat().st_mtime_ns

    refused = julei("cluster", table_csv, "-k", "3", cwd=work)
    assert_one_error_line(refused, "is not empty", "--force")
    assert (out / "summary.json").stat().st_mtime_ns == stamp

    forced = julei("cluster", table_csv, "-k", "2", "--force", "-q", cwd=work)
    assert forced.returncode == 0, forced.stderr
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["k"] == 2


def test_chinese_run_on_gbk_file(tmp_path):
    rows = ["客户编号,城市,消费金额,订单数"]
    rng = np.random.default_rng(2)
    for number in range(40):
        group = number % 2
        rows.append(f"{1000 + number},{'北京' if group else '上海'},{100 + 900 * group + rng.normal():.2f},{2 + 10 * group}")
    path = tmp_path / "客户.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode("gbk"))
    out = tmp_path / "result"
    process = julei("cluster", path, "-k", "2", "--out", out, "--lang", "zh")
    assert process.returncode == 0, process.stderr
    assert "聚为 k = 2 个簇" in process.stdout
    assert "提示：以下文本列未参与聚类：城市" in process.stderr

    # Excel opens UTF-8 CSV with Chinese text correctly only with a byte order mark.
    assert (out / "labels.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    labels = pd.read_csv(out / "labels.csv", encoding="utf-8-sig")
    assert list(labels.columns) == ["客户编号", "城市", "消费金额", "订单数", "cluster"]
    assert labels.groupby("城市")["cluster"].nunique().tolist() == [1, 1]

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["encoding"] == "gb18030"
    assert summary["features"]["id_column"] == "客户编号"

    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "数据概览" in html


def test_columns_option_one_hot(table_csv, tmp_path):
    out = tmp_path / "result"
    process = julei("cluster", table_csv, "-k", "3", "--columns", "revenue,region", "--out", out, "--lang", "en")
    assert process.returncode == 0, process.stderr
    assert "Text column region one-hot encoded into 3 columns" in process.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["features"]["used"] == ["revenue", "region=north", "region=south", "region=west"]


def test_missing_file(tmp_path):
    out = tmp_path / "result"
    process = julei("cluster", tmp_path / "nope.csv", "--out", out)
    assert_one_error_line(process, "nope.csv", "does not exist")
    assert not out.exists()


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    out = tmp_path / "result"
    assert_one_error_line(julei("cluster", path, "--out", out), "'empty.csv' is empty")
    assert not out.exists()


def test_no_numeric_column(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name,city\nAnna,Paris\nBen,Rome\nChen,Xi'an\n", encoding="utf-8")
    out = tmp_path / "result"
    assert_one_error_line(julei("cluster", path, "--out", out), "no numeric column", "--columns")
    assert not out.exists()


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    out = tmp_path / "result"
    assert_one_error_line(julei("cluster", path, "--out", out), "'photo.csv' is a binary file")
    assert not out.exists()


def test_k_larger_than_rows(table_csv, tmp_path):
    out = tmp_path / "result"
    assert_one_error_line(julei("cluster", table_csv, "-k", "500", "--out", out), "-k 500 is larger than the number of rows", "(60)")
    assert not out.exists()


def test_output_under_a_file(table_csv, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    assert_one_error_line(julei("cluster", table_csv, "--out", blocker / "result"), "is not a writable folder", "--out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder, so a read-only folder cannot be tested")
def test_read_only_output_folder(table_csv, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert_one_error_line(julei("cluster", table_csv, "--out", locked / "result"), "is not a writable folder")
    finally:
        locked.chmod(0o700)


def test_output_beside_input_rejected(table_csv):
    process = julei("cluster", table_csv, "--out", table_csv.parent)
    assert_one_error_line(process, "contains the input 'shops.csv'")


def test_error_in_chinese(tmp_path):
    process = julei("cluster", tmp_path / "nope.csv", "--lang", "zh")
    assert process.returncode == 1
    assert process.stderr.strip() == f"错误: 输入文件 '{tmp_path / 'nope.csv'}' 不存在，请检查路径和文件名。"


def test_debug_shows_traceback(tmp_path):
    process = julei("cluster", tmp_path / "nope.csv", "--debug")
    assert process.returncode == 1
    assert "Traceback" in process.stderr
    assert process.stderr.strip().splitlines()[-1].startswith("error: ")


def test_usage_error_exit_code(table_csv):
    process = julei("cluster", table_csv, "--scale", "weird")
    assert process.returncode == 2
    assert "Traceback" not in process.stderr


@pytest.mark.slow
def test_interrupt_leaves_nothing(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    pd.DataFrame(rng.normal(size=(100_000, 6)), columns=list("abcdef")).to_csv(path, index=False)
    out = tmp_path / "result"
    # --debug logs each step on stderr, so the test can wait until the table has been read.
    # A shell that starts the tests in the background ignores SIGINT, and the child would
    # inherit that. A terminal's Ctrl-C reaches a process with the default handler.
    process = subprocess.Popen(
        [sys.executable, "-m", "julei", "cluster", str(path), "--out", str(out), "--debug"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 90
    for line in process.stderr:
        if "read big.csv" in line or time.monotonic() > deadline:
            break
    assert process.poll() is None, "the job ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=90)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == "error: interrupted; no partial output was kept."
    assert not out.exists()


@pytest.mark.slow
def test_demo_runs_and_writes_reports(tmp_path):
    out = tmp_path / "demo"
    started = time.perf_counter()
    process = julei("demo", "--out", out, "--lang", "en", timeout=300)
    seconds = time.perf_counter() - started
    assert process.returncode == 0, process.stderr
    assert (out / "cluster" / "report.html").is_file()
    summary = json.loads((out / "cluster" / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["file"] == "retail_customers.csv"
    assert summary["features"]["id_column"] == "customer_id"
    assert summary["rows"]["read"] == 600
    assert str(out / "cluster" / "report.html") in process.stdout
    assert seconds < 60

    again = julei("demo", "--out", out)
    assert_one_error_line(again, "is not empty", "--force")
