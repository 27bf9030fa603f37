"""Readers: tables from files (`julei.io.tables`) and images (`julei.io.images`)."""

from julei.io.tables import Table, read_table

__all__ = ["Table", "read_table"]
