"""Build the demo table shipped in src/julei/data/retail_customers.csv.

Reads the UCI Online Retail order lines (``online_retail.csv.gz``: D. Chen, S. L. Sain and
K. Guo, 2012; CC BY 4.0), summarises each customer in one row and keeps a seeded random
sample of customers, so ``julei demo`` has a small real table to cluster. The output is
deterministic for a given input file and seed.

Usage::

    python scripts/make_demo_table.py [ORDER_LINES.csv.gz] [--customers 600] [--seed 7]

The default input is ``online_retail/online_retail.csv.gz`` in the data folder beside the
repository checkout.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPOSITORY.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
OUTPUT = REPOSITORY / "src" / "julei" / "data" / "retail_customers.csv"


def summarise_customers(lines):
    """Return one row per customer: activity, spending and returns over the whole period.

    Lines without a CustomerID are left out, because they cannot be attributed. Cancelled
    invoices (InvoiceNo starting with ``C``) count as returns, not as orders.
    """
    lines = lines.dropna(subset=["CustomerID"]).copy()
    lines["CustomerID"] = lines["CustomerID"].astype(int)
    lines["InvoiceDate"] = pd.to_datetime(lines["InvoiceDate"], format="%m/%d/%Y %H:%M")
    lines["amount"] = lines["Quantity"] * lines["UnitPrice"]
    cancelled = lines["InvoiceNo"].astype(str).str.startswith("C")
    sales = lines[~cancelled & (lines["Quantity"] > 0) & (lines["UnitPrice"] > 0)]
    returns = lines[cancelled]

    # Recency counts days before the day after the last invoice in the file, as RFM studies do.
    snapshot = lines["InvoiceDate"].max().normalize() + pd.Timedelta(days=1)
    grouped = sales.groupby("CustomerID")
    table = pd.DataFrame(
        {
            "country": grouped["Country"].agg(lambda values: values.mode().iloc[0]),
            "recency_days": (snapshot - grouped["InvoiceDate"].max()).dt.days,
            "orders": grouped["InvoiceNo"].nunique(),
            "revenue_gbp": grouped["amount"].sum().round(2),
            "products": grouped["StockCode"].nunique(),
            "items": grouped["Quantity"].sum(),
        }
    )
    table["avg_order_gbp"] = (table["revenue_gbp"] / table["orders"]).round(2)
    returned = (-returns.groupby("CustomerID")["amount"].sum()).reindex(table.index).fillna(0.0)
    table["returned_share"] = (returned / (table["revenue_gbp"] + returned)).clip(0, 1).round(4)
    table.index.name = "customer_id"
    columns = ["country", "recency_days", "orders", "revenue_gbp", "avg_order_gbp", "products", "items", "returned_share"]
    return table[columns].reset_index()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--customers", type=int, default=600, help="number of customers to sample")
    parser.add_argument("--seed", type=int, default=7, help="seed of the customer sample")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    lines = pd.read_csv(args.input, dtype={"InvoiceNo": str, "StockCode": str})
    table = summarise_customers(lines)
    rng = np.random.default_rng(args.seed)
    chosen = np.sort(rng.choice(len(table), size=min(args.customers, len(table)), replace=False))
    sample = table.iloc[chosen].reset_index(drop=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sample.to_csv(args.output, index=False)
    print(f"wrote {len(sample)} of {len(table)} customers to {args.output}")


if __name__ == "__main__":
    main()
