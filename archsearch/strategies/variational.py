"""Variational pruning (sec. 3.2–3.3, 4.1.3): connection weights as random variables.

The neck draws its weights from q(w) (`GaussianARD`, `FullARD` or `Laplace`, and beyond the
paper `StudentT`, `LogNormal` and `Horseshoe`); the loss gains
the KL term with a linear warm-up (to avoid over-regularizing early, sec. 4.1.3); at each
pruning round, connections whose criterion (the posterior mean by default) falls under
``threshold`` are dropped, and blocks left without inputs with them. ``target``, when set,
caps the count at the last round (the paper's 9 connections).

The KL is in ELBO units: divided by the number of training images N, as the lower bound of
eq. 4 is per datum when the detector's loss is a mean over images. ``kl_factor`` 1 is then
the bound itself, on 1,600 digit scenes as on COCO's 118k images; above 1 it weighs the
prior more (a tempered posterior), below 1 less. The default weighs it more, as the
paper's annealing factor does: at the bound itself a CPU-sized run keeps most connections
(``reports/FINDINGS.md``).

The default criterion is the signal-to-noise ratio μ²/σ², not the paper's posterior mean:
fast normalized fusion (eq. 1) divides by each block's sum and the KL depends on μ²/σ²
alone, so scaling one block's μ and σ together changes neither the sampled neck nor the
bound; the means' scale is left to the optimizer's drift, while their SNR is what the
bound determines (`archsearch.strategies.criteria`).

The posterior starts narrow (``initial_scale`` σ₀ = 0.1, where the paper's sec. 4.1.1
starts at 1): around means of 1, σ = 1 makes every sampled neck a reweighting by noise as
large as the weights, and in a short run the detector learns under that noise to the end
(`reports/FINDINGS.md` measures what it costs). Starting narrow, the KL widens the
posteriors of the connections the data does without, and their SNR falls under the
threshold, while the rest stay sharp.

The means and scales train under their own Adam (`connection_training`): the KL's pull on
a mean is at most ``kl_factor · μ/(N(μ² + σ²))`` a step, which the detector's SGD turns into
a few hundredths over a short run, while Adam's steps are scale-free (as in sparse
variational dropout and Bayesian compression, which train their variances with Adam).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from archsearch.strategies.base import HyperParameter, connection_training
from archsearch.strategies.registry import register_strategy
from archsearch.strategies.rounds import ThresholdRounds, threshold_knobs
from archsearch.weights import FullARD, GaussianARD, Horseshoe, Laplace, LogNormal, StudentT
from archsearch.weights.variational import VariationalWeights


class VariationalPruning(ThresholdRounds):
    """Base of the variational strategies; a subclass names its `distribution`."""

    distribution: ClassVar[type[VariationalWeights]]
    hyperparameters = (
        HyperParameter(
            "kl_factor",
            6.0,
            "weight of the KL per training image (1: the ELBO)",
            low=0.01,
            high=100.0,
            log=True,
            minimum=0.0,
        ),
        HyperParameter(
            "kl_warmup",
            0.2,
            "linear KL warm-up, fraction of training",
            0.0,
            0.5,
            minimum=0.0,
            maximum=1.0,
        ),
        HyperParameter(
            "initial_scale",
            0.1,
            "posterior scale at the start: σ (β for Laplace, σ of log w for log-normal, "
            "σ of w̃ and of the log-scales for horseshoe)",
            low=0.01,
            high=1.0,
            log=True,
            minimum=1e-6,
        ),
        *threshold_knobs(("snr", "mean", "share"), rounds=4),
        *connection_training("adam", lr=0.01),
    )

    def make_weights(self, connection_ids) -> VariationalWeights:
        return self.distribution(connection_ids, self.params["initial_scale"])

    def annealing(self, step: int) -> float:
        """``kl_factor`` times a linear ramp from 0 to 1 over the warm-up."""
        warmup = self.params["kl_warmup"] * self.total_steps
        return self.params["kl_factor"] * (min(1.0, step / warmup) if warmup > 0 else 1.0)

    def penalty(self, neck, step: int) -> torch.Tensor:
        """The annealed KL per training image (the negative ELBO's prior term per datum)."""
        return self.annealing(step) / self.train_images * neck.weights.kl()


@register_strategy("ard")
class ARD(VariationalPruning):
    """Factorized Gaussian posterior, optimal ARD prior (eq. 7–11)."""

    distribution = GaussianARD


@register_strategy("fullard")
class FullARDPruning(VariationalPruning):
    """Correlated Gaussian posterior, optimal full-covariance prior (eq. 12–17)."""

    distribution = FullARD


@register_strategy("laplace")
class LaplacePruning(VariationalPruning):
    """Factorized Laplace posterior, Laplace(0, 1) prior (appendix A, eq. 19–22)."""

    distribution = Laplace


@register_strategy("student_t")
class StudentTPruning(VariationalPruning):
    """Factorized Gaussian posterior, Student-t prior by its Normal–Gamma mixture (beyond the
    paper: its sec. 6); ``dof`` is the prior's ν (1: Cauchy, large: nearly Gaussian)."""

    distribution = StudentT
    hyperparameters = (
        *VariationalPruning.hyperparameters,
        HyperParameter(
            "dof",
            1.0,
            "the Student-t prior's degrees of freedom (1: Cauchy)",
            low=0.5,
            high=30.0,
            log=True,
            minimum=1e-6,
        ),
    )

    def make_weights(self, connection_ids) -> StudentT:
        return StudentT(connection_ids, self.params["initial_scale"], self.params["dof"])


@register_strategy("log_normal")
class LogNormalPruning(VariationalPruning):
    """Positive log-normal weights, truncated log-uniform prior (beyond the paper; Structured
    Bayesian Pruning's pair): no ReLU clips the draws, and the criterion uses the true mean."""

    distribution = LogNormal


@register_strategy("horseshoe")
class HorseshoePruning(VariationalPruning):
    """Gaussian weights with half-Cauchy local and global scales, the horseshoe prior (beyond
    the paper; Bayesian Compression's non-centred form); ``global_scale`` is the prior's τ₀."""

    distribution = Horseshoe
    hyperparameters = (
        *VariationalPruning.hyperparameters,
        HyperParameter(
            "global_scale",
            1.0,
            "the horseshoe's global scale τ₀ (smaller: more shrinkage)",
            low=0.01,
            high=1.0,
            log=True,
            minimum=1e-6,
        ),
    )

    def make_weights(self, connection_ids) -> Horseshoe:
        return Horseshoe(connection_ids, self.params["initial_scale"], self.params["global_scale"])
