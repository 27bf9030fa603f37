"""Tests of julei.metrics against hand-worked cases and a plain-Python reference."""

import numpy as np
import pytest

from julei.exceptions import InputError
from julei.metrics import centroid_index


def reference_centroid_index(centers_a, centers_b):
    """Centroid Index written out with Python loops, as the definition reads."""

    def orphans(source, target):
        hit = set()
        for point in source:
            distances = [sum((p - t) ** 2 for p, t in zip(point, other)) for other in target]
            hit.add(min(range(len(target)), key=lambda index: (distances[index], index)))
        return len(target) - len(hit)

    a = [list(map(float, row)) for row in centers_a]
    b = [list(map(float, row)) for row in centers_b]
    return max(orphans(a, b), orphans(b, a))


TRUTH = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def test_same_centres_give_zero():
    assert centroid_index(TRUTH, TRUTH) == 0


def test_permuted_and_shifted_centres_give_zero():
    found = TRUTH[[2, 0, 3, 1]] + 0.4
    assert centroid_index(found, TRUTH) == 0


def test_two_centres_in_one_cluster_give_one():
    # Two found centres share the cluster at (0, 0); the cluster at (10, 10) has none.
    found = np.array([[-1.0, 0.0], [1.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    assert centroid_index(found, TRUTH) == 1


def test_two_misplaced_centres_give_two():
    found = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 9.0], [0.0, 11.0]])
    assert centroid_index(found, TRUTH) == 2


def test_larger_direction_counts():
    # found -> truth leaves 10 without a centre (1 orphan); truth -> found maps 0 to 0,
    # 10 to 1 and 20 to 20, leaving no orphan. The index is the larger count.
    truth = np.array([[0.0], [10.0], [20.0]])
    found = np.array([[0.0], [1.0], [20.0]])
    assert centroid_index(found, truth) == 1
    assert centroid_index(truth, found) == 1


def test_different_numbers_of_centres():
    # One found centre sits between the true clusters (0, 0) and (0, 10), so one of them has
    # no centre of its own.
    found = np.array([[0.0, 5.0], [10.0, 0.0], [10.0, 10.0]])
    assert centroid_index(found, TRUTH) == 1
    assert centroid_index(TRUTH, found) == 1


def test_single_centre_against_many():
    assert centroid_index([[5.0, 5.0]], TRUTH) == 3


def test_tie_goes_to_first_centre():
    # (5, 0) is as far from (0, 0) as from (10, 0) and maps to (0, 0), the first, so every
    # true centre gets a found centre. Mapping it to (10, 0) would leave (0, 0) an orphan.
    found = np.array([[5.0, 0.0], [10.0, 0.0]])
    truth = np.array([[0.0, 0.0], [10.0, 0.0]])
    assert centroid_index(found, truth) == 0


def test_accepts_lists_and_float32():
    found = TRUTH.astype(np.float32).tolist()
    assert centroid_index(found, TRUTH.astype(np.float32)) == 0


@pytest.mark.parametrize("seed", range(20))
def test_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    n_features = int(rng.integers(1, 4))
    a = rng.integers(0, 6, size=(int(rng.integers(1, 9)), n_features)).astype(np.float64)
    b = rng.integers(0, 6, size=(int(rng.integers(1, 9)), n_features)).astype(np.float64)
    assert centroid_index(a, b) == reference_centroid_index(a, b)
    assert centroid_index(a, b) == centroid_index(b, a)


def test_many_centres_match_reference():
    # Enough centres that the distance blocks split the source rows.
    rng = np.random.default_rng(5)
    a = rng.normal(size=(700, 30))
    b = np.vstack([a[:650] + 0.01, rng.normal(size=(60, 30))])
    assert centroid_index(a, b) == reference_centroid_index(a, b)


@pytest.mark.parametrize(
    "centers_a, centers_b, match",
    [
        ([1.0, 2.0], TRUTH, r"centers_a must be 2-D.*\.reshape\(1, -1\)"),
        (TRUTH, np.zeros((2, 2, 2)), r"centers_b must be 2-D.*shape \(2, 2, 2\)"),
        (np.zeros((0, 2)), TRUTH, r"centers_a must contain at least one centre; got shape \(0, 2\)"),
        ([[np.nan, 0.0]], TRUTH, r"centers_a contains NaN or infinite values"),
        (TRUTH, [[np.inf, 0.0]], r"centers_b contains NaN or infinite values"),
        (TRUTH, [[0.0, 0.0, 0.0]], r"centers_a has 2 features but centers_b has 3"),
    ],
)
def test_invalid_input_raises(centers_a, centers_b, match):
    with pytest.raises(InputError, match=match):
        centroid_index(centers_a, centers_b)


def test_ground_truth_of_real_set(shared_data):
    path = shared_data / "franti" / "s1-centroids.txt"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    truth = np.loadtxt(path)
    assert centroid_index(truth, truth) == 0
    # Dropping one true centre and doubling another leaves exactly one cluster without a centre.
    damaged = truth.copy()
    damaged[0] = truth[1] + 1000.0
    assert centroid_index(damaged, truth) == 1
