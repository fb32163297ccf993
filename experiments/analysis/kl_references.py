"""How close each prior's KL comes to the independent reference its tests check it against.

The tests assert a bound (three standard errors of a 200,000-draw Monte Carlo estimate, or a
relative tolerance against a closed form); this prints the worst deviation actually found
over the tests' own parameter grids, by calling the tests' reference functions (imported,
not restated), so the numbers are those the tests see:

    python -m experiments.analysis.kl_references
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Laplace as TorchLaplace

from archsearch.weights import Horseshoe, Laplace, LogNormal, StudentT
from tests.weights import test_horseshoe, test_laplace, test_log_normal, test_student_t


def student_t() -> float:
    """Worst |KL − Monte Carlo| in standard errors: 1, 5 and 63 connections, extreme variances."""
    worst = 0.0
    grid = [(count, dof, None) for count, dof in [(1, 0.5), (5, 1.0), (63, 5.0), (63, 1.0)]]
    grid += [(5, 1.0, math.log(v)) for v in (1e-8, 1e8)]
    for count, dof, log_var in grid:
        torch.manual_seed(count if log_var is None else 1)
        params = test_student_t._random(count, seed=count if log_var is None else 7)
        if log_var is not None:
            params = (params[0], torch.full_like(params[0], log_var), *params[2:])
        estimate, error = test_student_t._monte_carlo_kl(*params, dof)
        kl = StudentT.from_params(*params, dof=dof).kl().item()
        worst = max(worst, abs(kl - estimate.item()) / error.item())
    return worst


def horseshoe() -> float:
    """Worst |KL − Monte Carlo| in standard errors: 1, 5 and 63 connections, variance 1e-8."""
    worst = 0.0
    for count in (1, 5, 63):
        torch.manual_seed(count)
        params = test_horseshoe._random(count, seed=count)
        estimate, error = test_horseshoe._monte_carlo_kl(*params)
        worst = max(worst, abs(Horseshoe.from_params(*params).kl().item() - estimate) / error)
    mu, _, local, global_ = test_horseshoe._random(5, seed=7)
    tiny = torch.full_like(mu, math.log(1e-8))
    local = torch.stack([local[0], tiny, local[2], tiny])
    torch.manual_seed(3)
    estimate, error = test_horseshoe._monte_carlo_kl(mu, tiny, local, global_)
    kl = Horseshoe.from_params(mu, tiny, local, global_).kl().item()
    return float(max(worst, abs(kl - estimate) / error))


def log_normal() -> float:
    """Worst relative error against scipy's truncated-normal entropy: 1, 5, 63 connections."""
    worst = 0.0
    for count in (1, 5, 63):
        mu, log_sigma = test_log_normal._random(count, seed=count)
        width = math.log(test_log_normal.HIGH - test_log_normal.LOW)
        expected = sum(width - q.entropy() for q in test_log_normal._scipy(mu, log_sigma))
        kl = LogNormal.from_params(mu, log_sigma).kl().item()
        worst = max(worst, abs(kl - expected) / abs(expected))
    return float(worst)


def laplace() -> float:
    """|KL − Monte Carlo| in standard errors, the test's five connections."""
    torch.manual_seed(0)
    q = TorchLaplace(test_laplace.MU, test_laplace.SCALE)
    prior = TorchLaplace(torch.zeros_like(test_laplace.MU), torch.ones_like(test_laplace.SCALE))
    draws = q.sample((200_000,))
    ratio = (q.log_prob(draws) - prior.log_prob(draws)).sum(-1)
    kl = Laplace.from_params(test_laplace.MU, test_laplace.SCALE).kl().item()
    return abs(kl - ratio.mean().item()) / (ratio.std().item() / math.sqrt(len(ratio)))


def main() -> None:
    print(f"Student-t:  worst |KL − MC| {student_t():.2f} standard errors (bound 3)")
    print(f"horseshoe:  worst |KL − MC| {horseshoe():.2f} standard errors (bound 3)")
    print(f"Laplace:    |KL − MC| {laplace():.2f} standard errors (bound 3)")
    print(f"log-normal: worst relative error against scipy {log_normal():.1e} (bound 1e-7)")


if __name__ == "__main__":
    main()
