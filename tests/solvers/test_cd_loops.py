"""The driver's loop helpers (proxgan.solvers._cd_loops) against numpy on awkward inputs: ties,
NaN, +-inf, singular and non-finite systems."""
import numpy as np
import pytest

from proxgan.solvers._cd_loops import anderson, copy_into, kth_smallest, solve_small, top_k


def _scores():
    rng = np.random.default_rng(3)
    many_ties = np.round(rng.random(300), 1)
    zeros = np.zeros(50)
    zeros[[4, 9]] = 1.0
    with_inf = rng.random(40)
    with_inf[[0, 17]] = np.inf
    with_nan = rng.random(40)
    with_nan[[2, 5, 30]] = np.nan
    return {"ties": many_ties, "zeros": zeros, "inf": with_inf, "nan": with_nan,
            "sorted": np.arange(64.0), "reversed": np.arange(64.0)[::-1].copy(), "one": np.array([0.5])}


@pytest.mark.parametrize("name", list(_scores()))
def test_top_k_is_numpy_stable_sort_of_the_largest(name):
    s = _scores()[name]
    for k in sorted({min(k, len(s)) for k in (1, 2, 3, len(s) // 2 or 1, len(s) - 1 or 1, len(s))}):
        # NaN ranks below every number; ties: the smaller index first
        expected = np.sort(np.argsort(np.where(np.isnan(s), np.inf, -s), kind="stable")[:k])
        got = top_k(s, k)
        np.testing.assert_array_equal(got, expected)
        assert np.all(np.diff(got) > 0) and len(got) == k


@pytest.mark.parametrize("name", list(_scores()))
def test_kth_smallest_is_np_partition(name):
    a = _scores()[name]
    for k in range(0, len(a), max(1, len(a) // 7)):
        got = kth_smallest(a.copy(), k)
        want = np.partition(a, k)[k]
        assert got == want or (np.isnan(got) and np.isnan(want))


def test_solve_small_is_np_linalg_solve_and_refuses_singular_systems():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 10):
        A = rng.standard_normal((n, n))
        A[0], A[-1] = A[-1].copy(), A[0].copy()  # pivoting needed
        b = rng.standard_normal(n)
        M, x = A.copy(), b.copy()
        assert solve_small(M, x)
        np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-10, atol=1e-12)
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert not solve_small(singular.copy(), np.ones(2))
    assert not solve_small(np.zeros((3, 3)), np.ones(3))
    assert not solve_small(np.array([[np.nan, 1.0], [1.0, 1.0]]), np.ones(2))


def _anderson_numpy(last, K):
    """The extrapolation as numpy writes it (normal equations solved by LAPACK)."""
    U = np.diff(last, axis=0)
    try:
        z = np.linalg.solve(U @ U.T, np.ones(K))
    except np.linalg.LinAlgError:
        return False, None
    if not np.isfinite(z.sum()) or z.sum() == 0:
        return False, None
    return True, (z / z.sum()) @ last[1:]


def test_anderson_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(30)
    A = np.diag(rng.uniform(0.1, 0.9, 30))
    last = np.empty((6, 30))
    for k in range(6):  # iterates of a linear fixed-point map: what extrapolation accelerates
        last[k] = x
        x = A @ x + 1.0
    ok, got = anderson(last, 5)
    ok_np, want = _anderson_numpy(last, 5)
    assert ok and ok_np
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    stalled = np.ones((6, 30))  # no progress: a singular system, no extrapolation
    assert not anderson(stalled, 5)[0] and not _anderson_numpy(stalled, 5)[0]


def test_copy_into():
    dst = np.zeros(4)
    copy_into(dst, np.arange(4.0))
    np.testing.assert_array_equal(dst, [0.0, 1.0, 2.0, 3.0])
