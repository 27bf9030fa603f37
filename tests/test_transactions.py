"""Tests of julei.io.transactions: column detection, date parsing and cleaning."""

import numpy as np
import pandas as pd
import pytest

from julei.exceptions import InputError
from julei.io.transactions import (
    CLEANING_REASONS,
    clean_transactions,
    detect_columns,
    parse_dates,
    parse_day,
)

# ---------------------------------------------------------------------------------------
# Column detection


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
            {"customer": "CustomerID", "order": "InvoiceNo", "date": "InvoiceDate", "quantity": "Quantity",
             "price": "UnitPrice", "amount": None},
        ),
        (
            ["订单号", "客户ID", "下单时间", "数量", "单价"],
            {"customer": "客户ID", "order": "订单号", "date": "下单时间", "quantity": "数量", "price": "单价", "amount": None},
        ),
        (
            ["会员ID", "订单日期", "实付金额", "商品"],
            {"customer": "会员ID", "order": None, "date": "订单日期", "quantity": None, "price": None, "amount": "实付金额"},
        ),
        (
            ["user_id", "order id", "created_at", "Amount"],
            {"customer": "user_id", "order": "order id", "date": "created_at", "quantity": None, "price": None,
             "amount": "Amount"},
        ),
        (
            ["用户ID", "Order Date", "Total Amount"],
            {"customer": "用户ID", "order": None, "date": "Order Date", "quantity": None, "price": None,
             "amount": "Total Amount"},
        ),
    ],
    ids=["uci-retail", "chinese-lines", "chinese-orders", "snake-case", "mixed"],
)
def test_detect_columns_common_names(columns, expected):
    found = detect_columns(pd.DataFrame(columns=columns))

    assert found.as_dict() == expected


def test_detect_columns_prefers_specific_date_name():
    # "InvoiceDate" outranks the generic "time" column.
    found = detect_columns(pd.DataFrame(columns=["time", "InvoiceDate", "CustomerID", "amount"]))

    assert found.date == "InvoiceDate"


def test_detect_columns_override_wins():
    frame = pd.DataFrame(columns=["buyer_code", "when", "paid", "CustomerID", "InvoiceDate", "Amount"])

    found = detect_columns(frame, customer="buyer_code", date="when", amount="paid")

    assert (found.customer, found.date, found.amount) == ("buyer_code", "when", "paid")


def test_detect_columns_quantity_price_override_beats_amount():
    frame = pd.DataFrame(columns=["CustomerID", "InvoiceDate", "Amount", "qty_sold", "each"])

    found = detect_columns(frame, quantity="qty_sold", price="each")

    assert found.amount is None
    assert (found.quantity, found.price) == ("qty_sold", "each")
    assert found.revenue_source == "quantity_price"


def test_detect_columns_missing_customer_lists_columns():
    frame = pd.DataFrame(columns=["InvoiceDate", "Amount", "Shop"])

    with pytest.raises(InputError, match=r"customer id column among the columns \['InvoiceDate', 'Amount', 'Shop'\]; name it with --customer") as info:
        detect_columns(frame)
    assert info.value.key == "customers.error.column_missing.customer"
    assert info.value.fields["option"] == "--customer"


def test_detect_columns_missing_date_names_option():
    with pytest.raises(InputError, match="order date column .* name it with --date"):
        detect_columns(pd.DataFrame(columns=["CustomerID", "Amount"]))


def test_detect_columns_quantity_without_price():
    with pytest.raises(InputError, match="unit price .* name it with --price"):
        detect_columns(pd.DataFrame(columns=["CustomerID", "InvoiceDate", "Quantity"]))


def test_detect_columns_no_revenue_column():
    with pytest.raises(InputError, match=r"amount \(or a quantity and a unit price\).*--amount \(or --quantity with --price\)"):
        detect_columns(pd.DataFrame(columns=["CustomerID", "InvoiceDate", "Colour"]))


def test_detect_columns_unknown_override():
    frame = pd.DataFrame(columns=["CustomerID", "InvoiceDate", "Amount"])

    with pytest.raises(InputError, match=r"--customer 'client' is not a column of the table; its columns are \['CustomerID'"):
        detect_columns(frame, customer="client")


# ---------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2010-12-01 08:26:00", "2011-01-31 17:05:09"], ["2010-12-01 08:26:00", "2011-01-31 17:05:09"]),
        (["2010-12-01", "2011-01-31"], ["2010-12-01", "2011-01-31"]),
        (["2010-12-01T08:26:00Z", "2011-01-31T17:05:00Z"], ["2010-12-01 08:26:00", "2011-01-31 17:05:00"]),
        (["12/1/2010 8:26", "1/31/2011 17:05"], ["2010-12-01 08:26", "2011-01-31 17:05"]),
        (["12/1/2010 8:26", "1/31/2011"], ["2010-12-01 08:26", "2011-01-31"]),
        (["13/1/2010 8:26", "1/2/2011 9:00"], ["2010-01-13 08:26", "2011-02-01 09:00"]),
        (["2023年5月1日", "2023年12月31日"], ["2023-05-01", "2023-12-31"]),
        (["2023年5月1日 10:30", "2023年5月2日10:31"], ["2023-05-01 10:30", "2023-05-02 10:31"]),
        (["2023/05/01 10:30:00", "2023/5/2"], ["2023-05-01 10:30", "2023-05-02"]),
        (["01.12.2010", "31.01.2011"], ["2010-12-01", "2011-01-31"]),
        ([40513, 40574.5], ["2010-12-01", "2011-01-31 12:00"]),
        (["40513", "40574"], ["2010-12-01", "2011-01-31"]),
        ([20101201, 20110131], ["2010-12-01", "2011-01-31"]),
    ],
    ids=["iso-time", "iso-day", "iso-utc", "us-time", "us-mixed-time", "day-first", "chinese", "chinese-time",
         "slashes-ymd", "dotted", "excel-serial", "excel-serial-text", "yyyymmdd"],
)
def test_parse_dates_formats(values, expected):
    dates, _ = parse_dates(pd.Series(values))

    assert dates.tolist() == pd.to_datetime(expected, format="ISO8601").tolist()


def test_parse_dates_counts_unparseable_as_missing():
    dates, used = parse_dates(pd.Series(["12/1/2010 8:26", "not a date", None, "12/2/2010 9:00"]))

    assert used == "%m/%d/%Y %H:%M"
    assert dates.isna().tolist() == [False, True, True, False]


def test_parse_dates_forced_format():
    # Ambiguous "1/2/2011": month first by default, day first when forced.
    default, _ = parse_dates(pd.Series(["1/2/2011"]))
    forced, used = parse_dates(pd.Series(["1/2/2011"]), "%d/%m/%Y")

    assert default.iloc[0] == pd.Timestamp("2011-01-02")
    assert forced.iloc[0] == pd.Timestamp("2011-02-01")
    assert used == "%d/%m/%Y"


def test_parse_dates_forced_excel():
    dates, used = parse_dates(pd.Series(["40513", "oops"]), "excel")

    assert used == "excel serial"
    assert dates.iloc[0] == pd.Timestamp("2010-12-01")
    assert pd.isna(dates.iloc[1])


def test_parse_dates_keeps_datetime_column():
    values = pd.Series(pd.to_datetime(["2011-01-01 10:00", "2011-01-02 00:00"]))

    dates, used = parse_dates(values)

    assert used == "datetime"
    assert dates.tolist() == values.tolist()


def test_parse_day_accepts_common_forms():
    assert parse_day("2011-06-30", "--since") == pd.Timestamp("2011-06-30")
    assert parse_day("2011年6月30日", "--since") == pd.Timestamp("2011-06-30")
    assert parse_day(None, "--since") is None


def test_parse_day_rejects_text():
    with pytest.raises(InputError, match=r"--until 'yesterday' is not a date; write it as YYYY-MM-DD"):
        parse_day("yesterday", "--until")


# ---------------------------------------------------------------------------------------
# Cleaning


def _lines():
    """One row per cleaning reason, plus two clean purchases."""
    rows = [
        # InvoiceNo, Quantity, InvoiceDate, UnitPrice, CustomerID
        ("1001", 2, "12/1/2010 8:00", 5.0, 1.0),  # kept
        ("1002", 1, "12/2/2010 8:00", 10.0, 2.0),  # kept
        ("1003", 1, "12/3/2010 8:00", 10.0, np.nan),  # missing_customer
        ("1004", 1, "someday", 10.0, 1.0),  # invalid_date
        ("1005", np.nan, "12/4/2010 8:00", 10.0, 1.0),  # invalid_number
        ("1001", 2, "12/1/2010 8:00", 5.0, 1.0),  # duplicate of the first row
        ("1006", 1, "12/5/2010 8:00", 0.0, 1.0),  # nonpositive_price
        ("1007", 0, "12/6/2010 8:00", 3.0, 1.0),  # zero_quantity
        ("1008", 1, "1/5/2012 8:00", 3.0, 1.0),  # outside_period (with until)
        ("C1009", -1, "12/7/2010 8:00", 5.0, 1.0),  # cancelled
        ("1010", -2, "12/8/2010 8:00", 10.0, 2.0),  # returned
    ]
    return pd.DataFrame(rows, columns=["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"])


def test_clean_counts_each_reason_once():
    frame = _lines()
    cleaned = clean_transactions(frame, detect_columns(frame), until=pd.Timestamp("2011-12-31"))

    assert cleaned.counts == dict.fromkeys(CLEANING_REASONS, 1)
    assert cleaned.n_input_rows == 11
    assert cleaned.n_kept_rows == 4
    assert cleaned.date_format == "%m/%d/%Y %H:%M"


def test_clean_nets_returns_by_default():
    frame = _lines()
    cleaned = clean_transactions(frame, detect_columns(frame), until=pd.Timestamp("2011-12-31"))
    lines = cleaned.lines.set_index("order_id")

    assert lines.loc["C1009", "revenue"] == -5.0
    assert lines.loc["1010", "revenue"] == -20.0
    assert lines["is_return"].sum() == 2
    assert cleaned.netted_revenue == 25.0
    assert cleaned.actions["cancelled"] == "netted"
    assert lines.loc["1001", "customer_id"] == "1"


def test_clean_drops_returns_on_request():
    frame = _lines()
    cleaned = clean_transactions(frame, detect_columns(frame), returns="drop")

    assert cleaned.n_kept_rows == 3  # the 2012 line is kept without --until
    assert not cleaned.lines["is_return"].any()
    assert cleaned.counts["cancelled"] == 1
    assert cleaned.actions["returned"] == "dropped"
    assert cleaned.netted_revenue == 0.0


def test_clean_since_until_include_both_days():
    frame = pd.DataFrame(
        {
            "CustomerID": ["a", "a", "a", "a"],
            "InvoiceDate": ["2011-01-31 23:59", "2011-02-01 00:00", "2011-02-28 23:59", "2011-03-01 00:00"],
            "Amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    cleaned = clean_transactions(
        frame, detect_columns(frame), since=pd.Timestamp("2011-02-01"), until=pd.Timestamp("2011-02-28")
    )

    assert cleaned.counts["outside_period"] == 2
    assert cleaned.lines["revenue"].tolist() == [2.0, 3.0]


def test_clean_amount_column_with_text_numbers():
    frame = pd.DataFrame(
        {
            "会员ID": ["m1", "m2", "m3", "m4"],
            "下单时间": ["2023年5月1日", "2023年5月2日", "2023年5月3日", "2023年5月4日"],
            "实付金额": ["¥1,200.50", "0", "-30", "abc"],
        }
    )
    cleaned = clean_transactions(frame, detect_columns(frame))

    assert cleaned.lines["revenue"].tolist() == [1200.5, -30.0]
    assert cleaned.counts["nonpositive_price"] == 1
    assert cleaned.counts["invalid_number"] == 1
    assert cleaned.counts["returned"] == 1


def test_clean_without_order_column_groups_by_time():
    frame = pd.DataFrame(
        {
            "CustomerID": ["a", "a", "a"],
            "InvoiceDate": ["2011-01-01 10:00", "2011-01-01 10:00", "2011-01-02 09:00"],
            "Amount": [1.0, 2.0, 3.0],
        }
    )
    cleaned = clean_transactions(frame, detect_columns(frame))

    assert cleaned.lines["order_id"].nunique() == 2


def test_clean_integer_like_float_ids():
    frame = pd.DataFrame({"CustomerID": [17850.0, np.nan], "InvoiceDate": ["2011-01-01", "2011-01-02"], "Amount": [1.0, 2.0]})

    cleaned = clean_transactions(frame, detect_columns(frame))

    assert cleaned.lines["customer_id"].tolist() == ["17850"]


def test_clean_no_readable_date():
    frame = pd.DataFrame({"CustomerID": ["a", "b"], "InvoiceDate": ["soon", "later"], "Amount": [1.0, 2.0]})

    with pytest.raises(InputError, match=r"no value of the date column 'InvoiceDate' could be read as a date .*--date-format"):
        clean_transactions(frame, detect_columns(frame))


def test_clean_nothing_left():
    frame = pd.DataFrame({"CustomerID": [None, None], "InvoiceDate": ["2011-01-01", "2011-01-02"], "Amount": [1.0, 2.0]})

    with pytest.raises(InputError, match=r"no transaction is left after cleaning 2 rows \(missing_customer 2\)"):
        clean_transactions(frame, detect_columns(frame))


def test_cleaning_table_shares():
    frame = _lines()
    table = clean_transactions(frame, detect_columns(frame)).cleaning_table()

    assert table["reason"].tolist() == list(CLEANING_REASONS)
    assert table.loc[table["reason"] == "missing_customer", "share"].item() == pytest.approx(1 / 11)
