"""julei: fast, correct and explainable K-means clustering."""
__version__ = "0.1.0"
