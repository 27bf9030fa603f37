"""julei: fast, correct and explainable K-means clustering."""

__version__ = "0.1.0"

from julei.kmeans import KMeans, kmeans_plusplus  # noqa: E402

__all__ = ["KMeans", "kmeans_plusplus", "__version__"]
