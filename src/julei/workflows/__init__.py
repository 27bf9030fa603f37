"""Workflows: one end-to-end job each, from input to a result dataclass of plain data.

`julei.workflows.tabular` clusters the rows of any table (``julei cluster``).
"""
