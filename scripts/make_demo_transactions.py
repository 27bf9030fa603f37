"""Build the demo transactions shipped in src/julei/data/retail_transactions.csv.gz.

Reads the UCI Online Retail order lines (``online_retail.csv.gz``: D. Chen, S. L. Sain and
K. Guo, 2012; CC BY 4.0). It keeps every line of a seeded random sample of customers, plus
every line of a few invoices without a customer number. So ``julei customers`` meets the same
cleaning cases on the sample as on the full file: missing customer ids, cancelled invoices,
zero prices and duplicate lines. The Description column (product names) is left
out to keep the file near 220 KiB. The output is deterministic for a given input file,
sample size and seed.

Usage::

    python scripts/make_demo_transactions.py [ORDER_LINES.csv.gz] [--customers 400] [--seed 11]

The default input is ``online_retail/online_retail.csv.gz`` in the data folder beside the
repository checkout.
"""

import argparse
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPOSITORY.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
OUTPUT = REPOSITORY / "src" / "julei" / "data" / "retail_transactions.csv.gz"

# Invoices without a CustomerID kept in the sample, to show that cleaning step.
ANONYMOUS_INVOICES = 15


def sample_lines(lines, n_customers, seed):
    """Return all lines of ``n_customers`` random customers and of a few anonymous invoices.

    Lines keep their order in the input file.
    """
    rng = np.random.default_rng(seed)
    customers = np.sort(lines["CustomerID"].dropna().unique())
    chosen = rng.choice(customers, size=min(n_customers, len(customers)), replace=False)
    anonymous = lines.loc[lines["CustomerID"].isna(), "InvoiceNo"].unique()
    chosen_invoices = rng.choice(anonymous, size=min(ANONYMOUS_INVOICES, len(anonymous)), replace=False)
    keep = lines["CustomerID"].isin(chosen) | lines["InvoiceNo"].isin(chosen_invoices)
    # Product names are half of the compressed size and no job reads them; StockCode stays.
    sample = lines.loc[keep].drop(columns=["Description"])
    # Integer ids as the retailer wrote them: 17850, not 17850.0.
    sample["CustomerID"] = sample["CustomerID"].astype("Int64")
    return sample


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", nargs="?", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    lines = pd.read_csv(args.input, dtype={"InvoiceNo": str, "StockCode": str})
    sample = sample_lines(lines, args.customers, args.seed)
    text = sample.to_csv(index=False)
    # mtime=0 keeps the gzip bytes identical from run to run.
    args.output.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    print(
        f"wrote {args.output}: {len(sample)} lines, {sample['CustomerID'].nunique()} customers, "
        f"{args.output.stat().st_size / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
