"""Where a trained FullARD posterior puts its variance: along what fast normalized fusion ignores.

Eq. 1 divides each block by the sum of its weights, so moving all of a block's weights along
their mean, w_b → (1 + t) μ_b, changes nothing any block outputs. FullARD's KL,
½ log(1 + μᵀΣ⁻¹μ), falls as Σ grows along μ, and a full covariance can grow there at no cost
to the data term: the bound's optimum is variance along the blocks' scale directions, which
lowers every connection's marginal SNR μ_i²/Σ_ii alike and leaves none for a threshold to
tell apart. This script measures that on a run's checkpoint:

    python -m experiments.analysis.fullard_scale runs/<study>/<run id> [...]

Per run: the KL, the share of tr Σ along the blocks' scale directions (a random subspace of
that dimension would hold dimension / connections of it), the largest eigenvalue of Σ over
the second, its median eigenvalue, and the ranges of the marginal SNR and of the means.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from archsearch.detection.train import read_checkpoint
from archsearch.graph import FusionGraph, from_dict
from archsearch.weights import FullARD

PREFIX = "backbone.neck.weights."


def block_scale_directions(graph: FusionGraph, mu: torch.Tensor) -> torch.Tensor:
    """``[C, B]``: for each block, μ restricted to its inputs, normalized (orthonormal
    columns, as blocks have disjoint inputs)."""
    connections = list(graph.connections())
    blocks = sorted({c.target for c in connections})
    directions = torch.zeros(len(connections), len(blocks), dtype=mu.dtype)
    for row, connection in enumerate(connections):
        directions[row, blocks.index(connection.target)] = mu[row]
    return directions / directions.norm(dim=0).clamp(min=torch.finfo(mu.dtype).tiny)


def scale_variance(weights: FullARD, graph: FusionGraph) -> dict[str, float]:
    """KL, the share of tr Σ along the block-scale directions and its random-subspace
    expectation, the top-two eigenvalue ratio and the median eigenvalue of Σ (the width
    left orthogonally to them), and the ranges of the marginal SNR and of the means."""
    with torch.no_grad():
        mu = weights.mean().double()
        covariance = weights.covariance().double()
        directions = block_scale_directions(graph, mu)
        along = (directions.T @ covariance @ directions).trace() / covariance.trace()
        eigenvalues = torch.linalg.eigvalsh(covariance)
        snr = mu.square() / covariance.diagonal()
        return {
            "kl": float(weights.kl()),
            "scale_share": float(along),
            "random_share": directions.shape[1] / len(mu),
            "top_eigenvalue_ratio": float(eigenvalues[-1] / eigenvalues[-2]),
            "snr_min": float(snr.min()),
            "snr_max": float(snr.max()),
            "median_eigenvalue": float(eigenvalues.median()),
            "mean_min": float(mu.min()),
            "mean_max": float(mu.max()),
        }


def load_fullard(run_dir: Path) -> tuple[FullARD, FusionGraph]:
    """The FullARD posterior and the graph of the checkpoint in ``run_dir``."""
    state = read_checkpoint(run_dir / "checkpoint.pt")
    graph = from_dict(state["graph"], source=str(run_dir))
    weights = FullARD(graph.connection_ids)
    weights.load_state_dict(
        {k.removeprefix(PREFIX): v for k, v in state["model"].items() if k.startswith(PREFIX)}
    )
    return weights, graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of FullARD runs")
    for run_dir in parser.parse_args().runs:
        found = scale_variance(*load_fullard(run_dir))
        print(
            f"{run_dir.name}: KL {found['kl']:.3f}  tr Σ along block scales "
            f"{found['scale_share']:.3f} (random {found['random_share']:.3f})  "
            f"λ1/λ2 {found['top_eigenvalue_ratio']:.1f}  "
            f"median λ {found['median_eigenvalue']:.4f}  "
            f"SNR {found['snr_min']:.2f} to {found['snr_max']:.2f}  "
            f"μ {found['mean_min']:.2f} to {found['mean_max']:.2f}"
        )


if __name__ == "__main__":
    main()
