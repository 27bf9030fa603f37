"""Tests of the ``julei customers`` command: result files, report, languages and bad input."""

import json
import os
import subprocess
import sys
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from julei.cli import main
from julei.cli.customers import parse_k, run
from julei.exceptions import InputError, OutputError
from julei.i18n import translator
from julei.report.customers import SECTION_IDS

# Plain English messages whatever the machine's locale; no colour codes.
ENV = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}
ENV.pop("LC_MESSAGES", None)
RESULT_FILES = {"report.html", "customers.csv", "segments.csv", "summary.json", ".julei-results"}


def julei(*args, cwd=None, timeout=180):
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


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory):
    """Order lines of 90 customers in three groups, with a cancellation, a blank id and a duplicate."""
    rng = np.random.default_rng(3)
    end = pd.Timestamp("2024-06-30")
    rows = []
    order = 0
    groups = [((10, 16), (0, 10), 300.0), ((1, 2), (0, 20), 25.0), ((1, 3), (200, 330), 40.0)]
    for group, (n_orders, days_ago, price) in enumerate(groups):
        for index in range(30):
            customer = 1000 + 100 * group + index
            last = end - pd.Timedelta(days=int(rng.integers(*days_ago)))
            for position in range(int(rng.integers(*n_orders))):
                order += 1
                date = last - pd.Timedelta(days=9 * position)
                rows.append((str(order), int(rng.integers(1, 4)), date.strftime("%m/%d/%Y %H:%M"), round(price * rng.uniform(0.8, 1.2), 2), customer))
    rows.append(("C99999", -1, "06/01/2024 10:00", 300.0, 1000))
    rows.append(("99998", 2, "06/02/2024 10:00", 5.0, None))
    rows.append(rows[0])
    frame = pd.DataFrame(rows, columns=["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"])
    frame["CustomerID"] = frame["CustomerID"].astype("Int64")
    folder = tmp_path_factory.mktemp("data")
    path = folder / "orders.csv"
    frame.to_csv(path, index=False)
    return path


def test_parse_k_values():
    assert parse_k("auto") == (3, 8)
    assert parse_k("5") == (5, 5)
    assert parse_k("2..6") == (2, 6)
    with pytest.raises(InputError, match=r"-k 'many' is not valid; give a number such as 5, a range such as 3..8, or auto"):
        parse_k("many")
    with pytest.raises(InputError, match=r"-k '6..2' is not valid"):
        parse_k("6..2")


def test_run_writes_all_files(orders_csv, tmp_path):
    output = run(orders_csv, out=tmp_path / "out", lang="en", quiet=True)

    assert {path.name for path in output.folder.iterdir()} == RESULT_FILES
    customers = pd.read_csv(output.folder / "customers.csv", dtype={"customer_id": str})
    assert list(customers.columns[:11]) == [
        "customer_id", "recency", "frequency", "monetary", "segment", "segment_name",
        "r_score", "f_score", "m_score", "rfm_score", "tenure",
    ]
    assert len(customers) == 90
    assert customers["rfm_score"].astype(str).str.fullmatch(r"[1-5]{3}").all()

    segments = pd.read_csv(output.folder / "segments.csv")
    assert segments["customers"].sum() == 90
    assert segments["segment_name"].is_unique
    assert segments["description"].str.startswith("Median customer: last purchase").all()
    for column in ("customer_share", "revenue", "revenue_share", "recency_mean", "recency_median",
                   "frequency_mean", "frequency_median", "monetary_mean", "monetary_median"):
        assert column in segments.columns

    summary = json.loads((output.folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["job"] == "customers"
    assert summary["k"] == len(segments) == 3
    assert summary["rows"]["read"] == pd.read_csv(orders_csv).shape[0]
    assert summary["rows"]["by_reason"]["missing_customer"] == {"rows": 1, "action": "dropped"}
    assert summary["rows"]["by_reason"]["duplicate"]["rows"] == 1
    assert summary["rows"]["by_reason"]["cancelled"] == {"rows": 1, "action": "netted"}
    assert summary["netted_revenue"] == 300.0
    assert summary["input"]["file"] == "orders.csv"


def test_report_shows_every_section(orders_csv, tmp_path):
    output = run(orders_csv, out=tmp_path / "out", lang="en", quiet=True, k="4")
    html = (output.folder / "report.html").read_text(encoding="utf-8")

    for section in SECTION_IDS:
        assert f'id="{section}"' in html
    assert html.count("<svg") == 3
    assert "were netted against their customers" in html
    assert "k = 4 was given with -k." in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_chinese_files(orders_csv, tmp_path):
    output = run(orders_csv, out=tmp_path / "out", lang="zh", quiet=True, k="3")
    t = translator("zh")

    raw = (output.folder / "segments.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    segments = pd.read_csv(output.folder / "segments.csv", encoding="utf-8-sig")
    chinese_names = {t(f"customers.segment.{key}") for key in ("champions", "loyal", "potential_loyalists", "new", "promising",
                                                              "need_attention", "about_to_sleep", "at_risk", "cannot_lose",
                                                              "hibernating", "lost")}
    assert set(segments["segment_name"]) <= chinese_names
    assert segments["description"].str.contains("最近一次购买").all()
    html = (output.folder / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "数据清洗" in html


def test_returns_drop_and_period(orders_csv, tmp_path):
    output = run(orders_csv, out=tmp_path / "out", lang="en", quiet=True, k="3", returns="drop", since="2024-01-01",
                 until="2024-06-30")
    summary = json.loads((output.folder / "summary.json").read_text(encoding="utf-8"))

    assert summary["settings"]["returns"] == "drop"
    assert summary["rows"]["by_reason"]["cancelled"]["action"] == "dropped"
    assert summary["rows"]["by_reason"]["outside_period"]["rows"] > 0
    assert summary["netted_revenue"] == 0.0
    assert summary["settings"]["first_date"] >= "2024-01-01"


def _chinese_orders(n_customers=45, seed=4):
    """Orders of a Chinese shop: one row per order, an amount column, dates written the Chinese way."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n_customers):
        n_orders = int(rng.integers(1, 12))
        last = pd.Timestamp("2023-06-30") - pd.Timedelta(days=int(rng.integers(0, 300)))
        for position in range(n_orders):
            date = last - pd.Timedelta(days=11 * position)
            rows.append((f"VIP{index:03d}", f"D{len(rows):05d}", date, round(float(rng.lognormal(5, 1)), 2)))
    return pd.DataFrame(rows, columns=["会员ID", "订单号", "下单时间", "实付金额"])


def test_chinese_excel_workbook(tmp_path):
    path = tmp_path / "订单.xlsx"
    _chinese_orders().to_excel(path, index=False)

    output = run(path, out=tmp_path / "out", lang="zh", quiet=True, k="3", as_of="2023-07-31", features="tenure,aov")
    summary = json.loads((output.folder / "summary.json").read_text(encoding="utf-8"))

    assert summary["settings"]["columns"]["customer"] == "会员ID"
    assert summary["settings"]["columns"]["amount"] == "实付金额"
    assert summary["settings"]["date_format"] == "datetime"
    assert summary["settings"]["as_of"] == "2023-07-31"
    assert summary["settings"]["features"] == ["recency", "frequency", "monetary", "tenure", "average_order_value"]
    assert summary["customers"] == 45
    customers = pd.read_csv(output.folder / "customers.csv", encoding="utf-8-sig")
    assert customers["recency"].min() >= 31


def test_gbk_csv_with_chinese_dates(tmp_path):
    frame = _chinese_orders(seed=5)
    frame["下单时间"] = [f"{day.year}年{day.month}月{day.day}日" for day in frame["下单时间"]]
    path = tmp_path / "orders_gbk.csv"
    path.write_bytes(frame.to_csv(index=False).encode("gbk"))

    output = run(path, out=tmp_path / "out", lang="en", quiet=True, k="3")
    summary = json.loads((output.folder / "summary.json").read_text(encoding="utf-8"))

    assert summary["input"]["encoding"] in ("gb18030", "gbk", "GB2312")
    assert summary["settings"]["date_format"] == "%Y年%m月%d日"
    assert summary["rows"]["by_reason"]["invalid_date"]["rows"] == 0
    assert summary["customers"] == 45


def test_existing_output_needs_force(orders_csv, tmp_path):
    run(orders_csv, out=tmp_path / "out", lang="en", quiet=True, k="3")

    with pytest.raises(OutputError, match="is not empty; pass --force"):
        run(orders_csv, out=tmp_path / "out", lang="en", quiet=True, k="3")
    output = run(orders_csv, out=tmp_path / "out", lang="en", quiet=True, k="3", force=True)
    assert {path.name for path in output.folder.iterdir()} == RESULT_FILES


def test_bad_input_leaves_no_folder(orders_csv, tmp_path):
    with pytest.raises(InputError, match="--customer 'client' is not a column"):
        run(orders_csv, out=tmp_path / "out", lang="en", quiet=True, customer="client")

    assert not (tmp_path / "out").exists()


def test_demo_sample_is_packaged():
    sample = resources.files("julei") / "data" / "retail_transactions.csv.gz"
    with resources.as_file(sample) as path:
        frame = pd.read_csv(path)
        size = path.stat().st_size

    assert size < 300 * 1024
    assert 300 <= frame["CustomerID"].nunique() <= 500
    assert frame["CustomerID"].isna().any()
    assert frame["InvoiceNo"].astype(str).str.startswith("C").any()


# ---------------------------------------------------------------------------------------
# As a subprocess


def test_command_end_to_end(orders_csv, tmp_path):
    process = julei("customers", orders_csv, "--out", tmp_path / "out", "-k", "3", "--lang", "en")

    assert process.returncode == 0, process.stderr
    assert "Segmented 90 customers into 3 segments" in process.stdout
    assert "columns: customer CustomerID, date InvoiceDate, order InvoiceNo" in process.stderr
    assert {path.name for path in (tmp_path / "out").iterdir()} == RESULT_FILES


def test_missing_column_lists_columns(tmp_path):
    path = tmp_path / "visits.csv"
    pd.DataFrame({"visitor": ["a", "b"], "InvoiceDate": ["2024-01-01", "2024-01-02"], "Amount": [1, 2]}).to_csv(path, index=False)

    process = julei("customers", path, "--out", tmp_path / "out")

    assert_one_error_line(process, "customer id column", "visitor, InvoiceDate, Amount", "--customer")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------
# In process, through the same entry point (faster than a subprocess per case)


def julei_main(capsys, *args):
    code = main(["customers", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_default_out_in_working_folder(orders_csv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    code, out, err = julei_main(capsys, orders_csv, "-k", "3", "--quiet", "--lang", "en")

    assert code == 0, err
    assert out == ""
    assert (tmp_path / "julei-out" / "report.html").is_file()


def test_missing_file(tmp_path, capsys):
    code, _, err = julei_main(capsys, tmp_path / "nothing.csv", "--out", tmp_path / "out", "--lang", "en")

    assert code == 1
    assert err.startswith("error: ")
    assert "nothing.csv" in err
    assert "does not exist" in err
    assert not (tmp_path / "out").exists()


def test_bad_since(orders_csv, tmp_path, capsys):
    code, _, err = julei_main(capsys, orders_csv, "--out", tmp_path / "out", "--since", "last spring", "--lang", "en")

    assert code == 1
    assert err == "error: --since 'last spring' is not a date; write it as YYYY-MM-DD, for example 2011-06-30.\n"


def test_error_in_chinese(orders_csv, tmp_path, capsys):
    code, _, err = julei_main(capsys, orders_csv, "--out", tmp_path / "out", "--date", "日期", "--lang", "zh")

    assert code == 1
    assert "--date 指定的列“日期”不在表中" in err


def test_help_lists_every_option(capsys):
    code, out, _ = julei_main(capsys, "--help")

    assert code == 0
    for option in ("--customer", "--order", "--date", "--amount", "--quantity", "--price", "--date-format", "--since",
                   "--until", "--as-of", "--returns", "--features", "-k", "--seed", "--out", "--lang", "--force",
                   "--quiet", "--debug"):
        assert option in out


def test_guide_options_exist():
    """Every ``--option`` the customer guide mentions is a real option of ``julei customers``."""
    import re
    from pathlib import Path

    import typer

    from julei.cli import _register_commands, app

    _register_commands()
    command = typer.main.get_command(app).commands["customers"]
    guide = Path(__file__).resolve().parents[1] / "docs" / "guide" / "customers.md"
    real = {flag for parameter in command.params for flag in parameter.opts}
    mentioned = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", guide.read_text(encoding="utf-8")))

    assert "--customer" in mentioned
    assert sorted(mentioned - real) == []
