"""Tests of julei.io.tables.read_table: formats, encodings, delimiters and bad files."""

import gzip
import hashlib

import numpy as np
import pandas as pd
import pytest

from julei.exceptions import InputError
from julei.io.tables import read_table

CHINESE_CSV = "客户编号,城市,消费金额,订单数\n1001,北京,2300.5,12\n1002,上海,1800,9\n1003,广州,560,3\n"


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "name": ["北京店", "上海店", "Café"],
            "sales": [10.5, 20.0, 30.25],
            "visits": [1, 2, 3],
        }
    )


def test_csv_utf8_comma(tmp_path):
    path = tmp_path / "shops.csv"
    path.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    table = read_table(path)
    assert table.format == "csv"
    assert table.delimiter == ","
    assert table.encoding == "utf-8"
    assert table.frame["b"].tolist() == [2, 4]
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_utf8_bom(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(CHINESE_CSV.encode("utf-8-sig"))
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert list(table.frame.columns) == ["客户编号", "城市", "消费金额", "订单数"]


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_csv_gbk_detected(tmp_path, codec):
    path = tmp_path / "export.csv"
    path.write_bytes(CHINESE_CSV.encode(codec))
    table = read_table(path)
    assert table.encoding == "gb18030"
    assert table.frame["城市"].tolist() == ["北京", "上海", "广州"]
    assert table.frame["消费金额"].tolist() == [2300.5, 1800, 560]


def test_latin1_not_read_as_chinese(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city,amount\nJosé,München,1\nZoë,Zürich,2\n".encode("cp1252"))
    table = read_table(path)
    assert table.frame["city"].tolist() == ["München", "Zürich"]


def test_encoding_forced(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(CHINESE_CSV.encode("gbk"))
    table = read_table(path, encoding="gbk")
    assert table.encoding == "gbk"
    assert table.frame.shape == (3, 4)


def test_encoding_forced_wrong(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(CHINESE_CSV.encode("gbk"))
    with pytest.raises(InputError, match=r"not valid utf-8 text.*--encoding") as info:
        read_table(path, encoding="utf-8")
    assert info.value.key == "error.encoding_wrong"


def test_encoding_unknown_name(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    with pytest.raises(InputError, match="encoding 'klingon' is not known"):
        read_table(path, encoding="klingon")


@pytest.mark.parametrize(
    "text, delimiter",
    [
        ("a;b;c\n1;2,5;3\n4;5;6\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('name,note\n"x","a;b;c"\n"y","d;e;f"\n', ","),
    ],
    ids=["semicolon", "tab", "pipe", "quoted-semicolons"],
)
def test_delimiter_sniffed(tmp_path, text, delimiter):
    path = tmp_path / "data.txt"
    path.write_text(text, encoding="utf-8")
    table = read_table(path)
    assert table.delimiter == delimiter


def test_tsv_by_suffix(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("a,b\tc\n1,2\t3\n", encoding="utf-8")
    table = read_table(path)
    assert table.format == "tsv"
    assert list(table.frame.columns) == ["a,b", "c"]


def test_xlsx_roundtrip(tmp_path, frame):
    path = tmp_path / "shops.xlsx"
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="first", index=False)
        frame.assign(sales=frame["sales"] * 2).to_excel(writer, sheet_name="二月", index=False)
    table = read_table(path)
    assert table.format == "xlsx"
    assert table.sheet == "first"
    pd.testing.assert_frame_equal(table.frame, frame, check_dtype=False)
    second = read_table(path, sheet="二月")
    assert second.frame["sales"].tolist() == [21.0, 40.0, 60.5]
    assert read_table(path, sheet=1).sheet == "二月"


def test_xlsx_missing_sheet(tmp_path, frame):
    path = tmp_path / "shops.xlsx"
    frame.to_excel(path, index=False)
    with pytest.raises(InputError, match=r"has no sheet 'March'; its sheets are \['Sheet1'\]"):
        read_table(path, sheet="March")


def test_parquet_roundtrip(tmp_path, frame):
    path = tmp_path / "shops.parquet"
    frame.to_parquet(path)
    table = read_table(path)
    assert table.format == "parquet"
    assert table.encoding is None
    pd.testing.assert_frame_equal(table.frame, frame, check_dtype=False)


def test_jsonl_roundtrip(tmp_path, frame):
    path = tmp_path / "shops.jsonl"
    frame.to_json(path, orient="records", lines=True, force_ascii=False)
    table = read_table(path)
    assert table.format == "jsonl"
    assert table.frame["name"].tolist() == ["北京店", "上海店", "Café"]
    assert np.allclose(table.frame["sales"], frame["sales"])


def test_gzip_csv(tmp_path):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n3,4\n"))
    table = read_table(path)
    assert table.compressed
    assert table.frame.shape == (2, 2)


def test_xlsx_named_csv_read_by_content(tmp_path, frame):
    path = tmp_path / "actually_excel.csv"
    frame.to_excel(path, index=False, engine="openpyxl")
    assert read_table(path).format == "xlsx"


def test_thousands_separators_converted(tmp_path):
    path = tmp_path / "money.csv"
    path.write_text('shop,revenue,code\nA,"1,234.50",007\nB,"12,000",8\nC,950,9\n', encoding="utf-8")
    table = read_table(path)
    assert table.converted_columns == ["revenue"]
    assert table.frame["revenue"].tolist() == [1234.5, 12000.0, 950.0]


def test_blank_and_repeated_headers(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text(",x,x\n1,2,3\n", encoding="utf-8")
    table = read_table(path)
    assert list(table.frame.columns) == ["column_1", "x", "x.1"]


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"does not exist; check the path") as info:
        read_table(tmp_path / "nope.csv")
    assert info.value.key == "error.file_missing"
    assert info.value.fields["path"].endswith("nope.csv")


def test_folder_rejected(tmp_path):
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_table(tmp_path)


@pytest.mark.parametrize("content", [b"", b"  \n\n"], ids=["zero-bytes", "whitespace"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="'empty.csv' is empty"):
        read_table(path)


def test_header_only(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("a,b,c\n", encoding="utf-8")
    with pytest.raises(InputError, match="has a header but no data rows"):
        read_table(path)


def test_binary_named_csv(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InputError, match="'photo.csv' is a binary file, not a text table") as info:
        read_table(path)
    assert info.value.key == "error.binary_file"


def test_old_xls_rejected(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(InputError, match=r"old Excel \.xls.*save it as \.xlsx or CSV"):
        read_table(path)


def test_truncated_xlsx(tmp_path, frame):
    path = tmp_path / "cut.xlsx"
    frame.to_excel(path, index=False)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="not a readable .xlsx workbook"):
        read_table(path)


def test_ragged_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot parse 'ragged.csv'.*same number of fields"):
        read_table(path)


def test_semicolon_file_with_decimal_commas(tmp_path):
    path = tmp_path / "european.csv"
    path.write_text("a;b;name\n0,125;1.234,5;x\n-3,5;2;y\n7;0,5;z\n", encoding="utf-8")
    table = read_table(path)
    assert table.delimiter == ";"
    assert table.frame["a"].tolist() == [0.125, -3.5, 7.0]
    assert table.frame["b"].tolist() == [1234.5, 2.0, 0.5]
    assert table.frame["name"].tolist() == ["x", "y", "z"]
    assert set(table.converted_columns) == {"a", "b"}


def test_comma_file_keeps_quoted_decimal_commas_as_text(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text('a,b\n"0,5",1\n"1,5",2\n', encoding="utf-8")
    table = read_table(path)
    assert table.frame["a"].tolist() == ["0,5", "1,5"]
