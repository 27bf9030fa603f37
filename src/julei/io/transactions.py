"""Read a transactions table: find its columns, parse its dates, clean its rows.

A transactions table has one row per order line (or per order) and at least a customer id, a
date, and either an amount or a quantity with a unit price. `detect_columns` finds these
columns from common English and Chinese header names, `parse_dates` reads the date formats that
real exports write, and `clean_transactions` drops or keeps each row for a counted reason.

Errors are `InputError` built with `julei.io.tables.input_error`, so they carry an i18n key
(``customers.error.*``) and its fields for the command line.
"""

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from julei.io.tables import input_error

__all__ = [
    "ROLES",
    "COLUMN_ALIASES",
    "CLEANING_REASONS",
    "ColumnMap",
    "CleanedTransactions",
    "detect_columns",
    "parse_dates",
    "parse_day",
    "clean_transactions",
]

logger = logging.getLogger(__name__)

#: Column roles, in the order they are looked for.
ROLES = ("customer", "order", "date", "quantity", "price", "amount")

#: The command-line option that sets each role's column.
ROLE_OPTIONS = {role: f"--{role}" for role in ROLES}

# Header names per role after `_normalize_name`, most specific first: when two columns match
# one role, the one whose name comes earlier in this list wins.
COLUMN_ALIASES = {
    "customer": (
        "customerid", "customerno", "customernumber", "customercode", "custid", "customer",
        "clientid", "client", "memberid", "member", "userid", "user", "buyerid", "buyer",
        "accountid", "shopperid",
        "客户id", "客户编号", "客户号", "客户代码", "客户", "会员id", "会员编号", "会员号", "会员卡号",
        "会员", "用户id", "用户编号", "用户", "买家id", "买家", "顾客id", "顾客编号", "顾客",
    ),
    "order": (
        "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "orderno",
        "ordernumber", "order", "transactionid", "transactionno", "transaction", "receiptno",
        "receiptid", "receipt", "basketid",
        "订单号", "订单编号", "订单id", "订单", "单号", "发票号", "交易号", "交易编号", "流水号", "小票号",
    ),
    "date": (
        "invoicedate", "orderdate", "orderdatetime", "ordertime", "purchasedate", "purchasetime",
        "transactiondate", "transactiontime", "saledate", "createdat", "datetime", "timestamp",
        "date", "time",
        "订单日期", "下单时间", "下单日期", "订单时间", "交易时间", "交易日期", "购买日期", "购买时间",
        "支付时间", "付款时间", "付款日期", "成交时间", "创建时间", "日期", "时间",
    ),
    "quantity": (
        "quantity", "qty", "units", "unitssold", "itemcount",
        "数量", "购买数量", "商品数量", "件数", "销量", "销售数量",
    ),
    "price": (
        "unitprice", "priceeach", "itemprice", "price", "unitcost",
        "单价", "商品单价", "销售单价", "价格", "售价",
    ),
    "amount": (
        "amount", "totalamount", "orderamount", "ordervalue", "linetotal", "totalprice", "total",
        "revenue", "sales", "salesamount", "paidamount", "payment", "value",
        "实付金额", "实收金额", "支付金额", "付款金额", "订单金额", "消费金额", "销售额", "销售金额",
        "总金额", "总价", "金额",
    ),
}

#: Reasons a row is dropped (or, for cancellations and returns, netted), in the order they are
#: checked. A row is counted under the first reason that applies to it.
CLEANING_REASONS = (
    "missing_customer",
    "invalid_date",
    "invalid_number",
    "duplicate",
    "nonpositive_price",
    "zero_quantity",
    "outside_period",
    "cancelled",
    "returned",
)

# Excel's day 0 is 1899-12-30 in the 1900 date system (it counts the fictitious 1900-02-29).
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Serial numbers 20000 to 80000 are the years 1954 to 2119.
_EXCEL_SERIAL_RANGE = (20_000, 80_000)

# Date parts tried on text dates. A day-first and a month-first part both read "1/2/2023", so
# the part that parses more values wins, and month-first (listed first) wins a tie.
_DATE_PARTS = (
    "ISO8601",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
    "%Y年%m月%d日",
    "%d.%m.%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%Y%m%d",
    "%d %b %Y",
    "%b %d %Y",
)
_TIME_PARTS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p")
_FORMAT_SAMPLE = 1000

# Currency symbols, spaces and thousands separators in numbers exported as text.
_NUMBER_NOISE = re.compile(r"[,\s¥￥$€£元]")


@dataclass(frozen=True)
class ColumnMap:
    """The input columns that play each role; None where a role has no column.

    ``amount`` is used for revenue when present, else ``quantity * price``.
    """

    customer: str
    date: str
    order: str | None = None
    quantity: str | None = None
    price: str | None = None
    amount: str | None = None
    detected: tuple = ()

    def as_dict(self):
        return {role: getattr(self, role) for role in ROLES}

    @property
    def revenue_source(self):
        return "amount" if self.amount is not None else "quantity_price"


@dataclass
class CleanedTransactions:
    """Transaction lines ready for per-customer features, with the count of every removal.

    Attributes
    ----------
    lines : pandas.DataFrame
        One row per kept line, columns ``customer_id`` (str), ``order_id`` (str),
        ``date`` (datetime64), ``revenue`` (float, negative for cancellations and returns)
        and ``is_return`` (bool).
    counts : dict
        Reason (see `CLEANING_REASONS`) -> number of input rows it applies to.
    actions : dict
        Reason -> ``"dropped"`` or ``"netted"``.
    n_input_rows, n_kept_rows : int
        Rows read and rows kept (netted returns included).
    netted_revenue : float
        Revenue taken back by netted cancellations and returns, as a positive number (0 when
        they are dropped).
    date_format : str
        Format the dates were parsed with (``"excel serial"``, ``"ISO8601"``, ``"%m/%d/%Y %H:%M"``...).
    columns : ColumnMap
    """

    lines: pd.DataFrame
    counts: dict
    actions: dict
    n_input_rows: int
    n_kept_rows: int
    netted_revenue: float
    date_format: str
    columns: ColumnMap
    unparsed_date_examples: list = field(default_factory=list)

    def cleaning_table(self):
        """Return one row per reason: ``reason``, ``rows``, ``share`` of input rows, ``action``."""
        rows = [
            {
                "reason": reason,
                "rows": int(self.counts.get(reason, 0)),
                "share": self.counts.get(reason, 0) / self.n_input_rows if self.n_input_rows else 0.0,
                "action": self.actions.get(reason, "dropped"),
            }
            for reason in CLEANING_REASONS
        ]
        return pd.DataFrame(rows)


def _normalize_name(name):
    # "Customer ID", "customer_id" and "CustomerID" all become "customerid"; "客户 ID" becomes "客户id".
    return re.sub(r"[\s_\-./()（）:：]+", "", str(name)).lower()


def detect_columns(frame, **overrides):
    """Find the customer, order, date, quantity, price and amount columns of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The transactions table as read.
    **overrides : str or None
        A column name per role (``customer=``, ``order=``, ``date=``, ``quantity=``,
        ``price=``, ``amount=``); None means detect it.

    Returns
    -------
    ColumnMap

    Raises
    ------
    InputError
        An override names a column that does not exist, or a required column (customer id,
        date, and an amount or a quantity with a price) cannot be found. The message lists
        the columns that exist and the option that sets the missing one.

    Examples
    --------
    >>> frame = pd.DataFrame(columns=["会员ID", "下单时间", "实付金额", "订单号"])
    >>> columns = detect_columns(frame)
    >>> columns.customer, columns.date, columns.amount, columns.order
    ('会员ID', '下单时间', '实付金额', '订单号')
    """
    unknown = set(overrides) - set(ROLES)
    if unknown:
        raise TypeError(f"unknown column roles {sorted(unknown)}; roles are {list(ROLES)}")
    existing = [str(column) for column in frame.columns]
    found = {}
    for role, name in overrides.items():
        if name is None:
            continue
        if name not in existing:
            raise input_error(
                "customers.error.column_not_in_table",
                f"{ROLE_OPTIONS[role]} {name!r} is not a column of the table; its columns are {existing}.",
                option=ROLE_OPTIONS[role],
                name=name,
                columns=", ".join(existing),
            )
        found[role] = name

    normalized = {}
    for column in existing:
        normalized.setdefault(_normalize_name(column), column)
    detected = []
    taken = set(found.values())
    for role in ROLES:
        if role in found:
            continue
        for alias in COLUMN_ALIASES[role]:
            column = normalized.get(alias)
            if column is not None and column not in taken:
                found[role] = column
                taken.add(column)
                detected.append(role)
                break

    for role in ("customer", "date"):
        if role not in found:
            raise _missing_column_error(role, existing)
    has_amount = "amount" in found
    has_quantity_price = "quantity" in found and "price" in found
    if not has_amount and not has_quantity_price:
        missing = "amount" if "quantity" not in found and "price" not in found else (
            "price" if "quantity" in found else "quantity"
        )
        raise _missing_column_error(missing, existing)
    if overrides.get("amount") is None and overrides.get("quantity") and overrides.get("price") and has_amount:
        # The user chose quantity and price explicitly: a detected amount column must not win.
        found.pop("amount")
        detected.remove("amount")

    columns = ColumnMap(
        customer=found["customer"],
        date=found["date"],
        order=found.get("order"),
        quantity=found.get("quantity"),
        price=found.get("price"),
        amount=found.get("amount"),
        detected=tuple(detected),
    )
    logger.info("columns: %s (detected: %s)", columns.as_dict(), ", ".join(detected) or "none")
    return columns


def _missing_column_error(role, existing):
    hints = {
        "customer": "a customer id",
        "date": "an order date",
        "amount": "an amount (or a quantity and a unit price)",
        "quantity": "a quantity to go with the unit price (or an amount)",
        "price": "a unit price to go with the quantity (or an amount)",
    }
    option = ROLE_OPTIONS[role]
    if role == "amount":
        option = "--amount (or --quantity with --price)"
    return input_error(
        f"customers.error.column_missing.{role}",
        f"cannot find {hints[role]} column among the columns {existing}; name it with {option}.",
        option=option,
        columns=", ".join(existing),
    )


def parse_dates(values, date_format=None):
    """Parse a column of dates as real exports write them.

    Accepted: datetime columns as Excel or Parquet store them, Excel serial day numbers
    (20000 to 80000), Unix seconds or milliseconds, and ``yyyymmdd`` integers. Text may be
    ISO 8601 (``2010-12-01 08:26:00``), ``12/1/2010 8:26``, ``2010/12/01``, ``2023年5月1日``,
    ``01.12.2010`` and similar. Slashed dates are read month first unless day first parses
    more of the values. The text format is chosen on a sample of the distinct values, and
    each distinct value is parsed once.

    Parameters
    ----------
    values : pandas.Series
    date_format : str, optional
        A ``strftime`` format to use instead of detecting one, or ``"excel"`` for serial numbers.

    Returns
    -------
    dates : pandas.Series of datetime64
        Timezone-naive; ``NaT`` where a value is missing or could not be parsed.
    format_used : str
        The format that was used, for the report.

    Examples
    --------
    >>> dates, used = parse_dates(pd.Series(["2023年5月1日", "2023年12月31日"]))
    >>> used, str(dates[1].date())
    ('%Y年%m月%d日', '2023-12-31')
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(None), "datetime"
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values, "datetime"
    if date_format is not None and date_format.lower() == "excel":
        return _from_excel_serial(pd.to_numeric(values, errors="coerce")), "excel serial"

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = pd.Series(uniques)
    if date_format is not None:
        parsed = _to_datetime(uniques.astype(str).str.strip(), date_format)
        used = date_format
    elif pd.api.types.is_numeric_dtype(uniques.dtype) or _all_numeric_text(uniques):
        parsed, used = _parse_numeric_dates(pd.to_numeric(uniques, errors="coerce"))
    else:
        parsed, used = _parse_text_dates(uniques.astype(str).str.strip())

    parsed = parsed.to_numpy(dtype="datetime64[ns]")
    result = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    present = codes >= 0
    result[present] = parsed[codes[present]]
    return pd.Series(result, index=values.index, name=values.name), used


def _all_numeric_text(uniques):
    sample = uniques.dropna().head(_FORMAT_SAMPLE)
    if len(sample) == 0 or pd.api.types.is_numeric_dtype(sample.dtype):
        return False
    return bool(pd.to_numeric(sample, errors="coerce").notna().all())


def _parse_numeric_dates(numbers):
    finite = numbers.dropna()
    median = float(finite.median()) if len(finite) else 0.0
    if _EXCEL_SERIAL_RANGE[0] <= median <= _EXCEL_SERIAL_RANGE[1]:
        return _from_excel_serial(numbers), "excel serial"
    if 19_000_101 <= median <= 21_001_231:
        text = numbers.astype("Int64").astype(str)
        return _to_datetime(text, "%Y%m%d"), "%Y%m%d"
    if 1e9 <= median < 1e10:
        return pd.to_datetime(numbers, unit="s", errors="coerce"), "unix seconds"
    if 1e12 <= median < 1e13:
        return pd.to_datetime(numbers, unit="ms", errors="coerce"), "unix milliseconds"
    return pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ns]"), "unknown"


def _from_excel_serial(numbers):
    numbers = numbers.where((numbers >= _EXCEL_SERIAL_RANGE[0]) & (numbers <= _EXCEL_SERIAL_RANGE[1]))
    # Round to the second: a serial stores the time of day as a binary fraction of a day.
    return (_EXCEL_EPOCH + pd.to_timedelta(numbers, unit="D")).dt.round("s")


def _to_datetime(text, fmt):
    parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=fmt == "ISO8601")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert(None)
    return parsed


def _parse_text_dates(text):
    # "2023年5月1日 10:00" and "2023年5月1日10:00" both occur; make the space uniform.
    text = text.str.replace(r"日\s*(?=\d)", "日 ", regex=True).str.replace(r"\s+", " ", regex=True)
    sample = text.dropna()
    sample = sample.sample(min(len(sample), _FORMAT_SAMPLE), random_state=0) if len(sample) else sample

    best_part, best_count = None, -1
    for part in _DATE_PARTS:
        count = int(_parse_with_part(sample, part)[0].notna().sum())
        if count > best_count:
            best_part, best_count = part, count
    if best_count <= 0:
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]"), "unknown"

    parsed, used = _parse_with_part(text, best_part)
    return parsed, used


def _parse_with_part(text, part):
    if part == "ISO8601":
        return _to_datetime(text, "ISO8601"), "ISO8601"
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    used = []
    for time_part in _TIME_PARTS:
        missing = parsed.isna()
        if not missing.any():
            break
        attempt = _to_datetime(text[missing], part + time_part)
        if attempt.notna().any():
            parsed[missing] = attempt
            used.append(part + time_part)
    return parsed, " | ".join(used) or part


def parse_day(value, option):
    """Parse a day given on the command line (``2011-06-30``, ``2011/6/30``, ``2011年6月30日``).

    Returns a midnight ``pandas.Timestamp``, or None when ``value`` is None or empty.
    """
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, pd.Timestamp):
        return value.normalize()
    dates, _ = parse_dates(pd.Series([str(value).strip()]))
    day = dates.iloc[0]
    if pd.isna(day):
        raise input_error(
            "customers.error.bad_day",
            f"{option} {value!r} is not a date; write it as YYYY-MM-DD, for example 2011-06-30.",
            option=option,
            value=str(value),
        )
    return pd.Timestamp(day).normalize()


def _to_numbers(values):
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    text = values.astype(str).str.replace(_NUMBER_NOISE, "", regex=True)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _to_ids(values):
    """Return ids as stripped strings, with missing and blank values as None."""
    if pd.api.types.is_float_dtype(values.dtype):
        finite = values.dropna()
        if len(finite) and bool((finite == np.floor(finite)).all()):
            # Integer ids read as float because of missing values: 17850.0 -> "17850".
            values = values.astype("Int64")
    ids = values.astype("string").str.strip()
    ids = ids.mask(ids.isin(["", "nan", "NaN", "None", "null", "NULL"]))
    return ids


def clean_transactions(frame, columns, *, date_format=None, since=None, until=None, returns="net"):
    """Clean a transactions table into lines with a customer, an order, a date and a revenue.

    Rows are checked in the order of `CLEANING_REASONS` and each row is counted under the
    first reason that applies:

    - ``missing_customer``: no customer id. Dropped.
    - ``invalid_date``: the date is missing or cannot be parsed. Dropped.
    - ``invalid_number``: the amount, quantity or price is missing or not a number. Dropped.
    - ``duplicate``: an exact copy (every column) of an earlier row. Dropped.
    - ``nonpositive_price``: unit price zero or negative (with an amount column: amount zero).
      Dropped.
    - ``zero_quantity``: quantity zero. Dropped.
    - ``outside_period``: dated before ``since`` or after ``until`` (both days included). Dropped.
    - ``cancelled``: the order id is ``C`` followed by a digit (a cancelled invoice, such as
      ``C536379``). Kept with negative revenue when ``returns="net"``, dropped when
      ``returns="drop"``.
    - ``returned``: negative quantity or amount in an order that is not cancelled. Handled
      like ``cancelled``.

    Netted lines lower their customer's revenue but count neither as an order nor as a
    purchase date.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : ColumnMap
        From `detect_columns`.
    date_format : str, optional
        See `parse_dates`.
    since, until : pandas.Timestamp, optional
        First and last day to keep.
    returns : {"net", "drop"}

    Returns
    -------
    CleanedTransactions

    Raises
    ------
    InputError
        No row survives cleaning, or no date can be parsed.
    """
    if returns not in ("net", "drop"):
        raise ValueError(f"returns={returns!r} is not accepted; use 'net' or 'drop'.")
    n_rows = len(frame)
    counts = dict.fromkeys(CLEANING_REASONS, 0)
    remaining = np.ones(n_rows, dtype=bool)

    def drop(reason, mask):
        mask = np.asarray(mask, dtype=bool) & remaining
        counts[reason] = int(mask.sum())
        remaining[mask] = False

    customer = _to_ids(frame[columns.customer])
    drop("missing_customer", customer.isna().to_numpy())

    dates, used_format = parse_dates(frame[columns.date], date_format)
    bad_dates = dates.isna().to_numpy()
    unparsed_examples = (
        frame.loc[bad_dates & frame[columns.date].notna().to_numpy(), columns.date].astype(str).unique()[:5].tolist()
    )
    if bad_dates.all():
        examples = frame[columns.date].dropna().astype(str).unique()[:3].tolist()
        raise input_error(
            "customers.error.no_dates",
            f"no value of the date column {columns.date!r} could be read as a date (for example {examples}); "
            "give the format with --date-format, for example --date-format '%d/%m/%Y %H:%M'.",
            column=columns.date,
            examples=", ".join(examples),
        )
    drop("invalid_date", bad_dates)

    if columns.amount is not None:
        revenue = _to_numbers(frame[columns.amount])
        invalid = revenue.isna()
    else:
        revenue = None
        invalid = pd.Series(False, index=frame.index)
    quantity = _to_numbers(frame[columns.quantity]) if columns.quantity is not None else None
    price = _to_numbers(frame[columns.price]) if columns.price is not None else None
    if revenue is None:
        invalid = quantity.isna() | price.isna()
        revenue = quantity * price
    drop("invalid_number", invalid.to_numpy())

    drop("duplicate", frame.duplicated(keep="first").to_numpy())

    if price is not None and columns.amount is None:
        drop("nonpositive_price", (price <= 0).to_numpy())
    else:
        drop("nonpositive_price", (revenue == 0).to_numpy())
    if quantity is not None:
        drop("zero_quantity", (quantity == 0).to_numpy())

    outside = np.zeros(n_rows, dtype=bool)
    if since is not None:
        outside |= (dates < since).to_numpy()
    if until is not None:
        outside |= (dates >= until + pd.Timedelta(days=1)).to_numpy()
    drop("outside_period", outside)

    if columns.order is not None:
        order = _to_ids(frame[columns.order])
        # "C536379": a C before the number of the invoice it cancels. Ids that merely start
        # with the letter, such as "CN-2023-17", are ordinary orders.
        cancelled = order.str.match(r"[Cc]\d").fillna(False).to_numpy(dtype=bool)
    else:
        order = None
        cancelled = np.zeros(n_rows, dtype=bool)
    negative = (revenue < 0).to_numpy(copy=True)
    if quantity is not None:
        negative |= (quantity < 0).to_numpy()

    # Cancellations and returns are counted whether they are netted or dropped.
    is_cancelled = cancelled & remaining
    is_returned = negative & ~cancelled & remaining
    counts["cancelled"] = int(is_cancelled.sum())
    counts["returned"] = int(is_returned.sum())
    if returns == "drop":
        remaining &= ~(is_cancelled | is_returned)
    action = "netted" if returns == "net" else "dropped"
    actions = {reason: "dropped" for reason in CLEANING_REASONS}
    actions["cancelled"] = actions["returned"] = action

    kept = np.flatnonzero(remaining)
    if len(kept) == 0:
        raise input_error(
            "customers.error.nothing_left",
            f"no transaction is left after cleaning {n_rows} rows ({_describe_counts(counts)}); "
            "check the column choice and --since/--until.",
            rows=n_rows,
            counts=_describe_counts(counts),
        )

    is_return = (is_cancelled | is_returned)[kept]
    line_revenue = revenue.to_numpy(dtype=float)[kept]
    # A return is money back whatever the sign convention of the export: always negative.
    line_revenue = np.where(is_return, -np.abs(line_revenue), line_revenue)
    if order is not None:
        order_ids = order.to_numpy(dtype=object)[kept]
        order_ids = np.where(pd.isna(order_ids), None, order_ids)
    else:
        order_ids = None
    lines = pd.DataFrame(
        {
            "customer_id": customer.to_numpy(dtype=object)[kept],
            "order_id": order_ids,
            "date": dates.to_numpy()[kept],
            "revenue": line_revenue,
            "is_return": is_return,
        }
    )
    if order_ids is None:
        # NOTE: without an order column, the lines of one customer at one timestamp form one order.
        lines["order_id"] = lines["date"].astype("int64").astype(str)
    else:
        missing_order = lines["order_id"].isna()
        lines.loc[missing_order, "order_id"] = lines.loc[missing_order, "date"].astype("int64").astype(str)

    netted = float(-lines.loc[lines["is_return"], "revenue"].sum()) if returns == "net" else 0.0
    logger.info(
        "cleaning kept %d of %d rows; %s", len(lines), n_rows, _describe_counts(counts)
    )
    return CleanedTransactions(
        lines=lines,
        counts=counts,
        actions=actions,
        n_input_rows=n_rows,
        n_kept_rows=len(lines),
        netted_revenue=netted,
        date_format=used_format,
        columns=columns,
        unparsed_date_examples=unparsed_examples,
    )


def _describe_counts(counts):
    parts = [f"{reason} {count}" for reason, count in counts.items() if count]
    return ", ".join(parts) or "nothing removed"
