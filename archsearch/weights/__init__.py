"""Connection-weight objects: deterministic scalars and variational distributions."""

from archsearch.weights.ard import GaussianARD
from archsearch.weights.base import ConnectionWeights, DeterministicWeights
from archsearch.weights.fullard import FullARD
from archsearch.weights.horseshoe import Horseshoe
from archsearch.weights.laplace import Laplace
from archsearch.weights.log_normal import LogNormal
from archsearch.weights.student_t import StudentT
from archsearch.weights.variational import VariationalWeights

__all__ = [
    "ConnectionWeights",
    "DeterministicWeights",
    "FullARD",
    "GaussianARD",
    "Horseshoe",
    "Laplace",
    "LogNormal",
    "StudentT",
    "VariationalWeights",
]
