"""Uncertainty of a variational neck (sec. 4.2.1, Table 2, Figure 4).

`sampling`: K fusion networks drawn from q(w), detected with the backbone run once;
`merging`: the K detection sets of an image clustered into D_f = {B_mean, B_var, S_mean,
S_var}; `decoders`: baseline, test-time averaging and variance voting; `evaluate`: the three
scored by COCOeval; `drawing`: Figure 4's boxes with their corners' spread.
"""

from archsearch.uncertainty.decoders import (
    DECODERS,
    DecoderSettings,
    baseline,
    decode,
    mean,
    var_vote,
)
from archsearch.uncertainty.evaluate import (
    UncertaintyEvaluation,
    decode_images,
    evaluate_uncertainty,
)
from archsearch.uncertainty.merging import Clusters, cluster_detections
from archsearch.uncertainty.sampling import (
    detections_per_pass,
    draw_weights,
    sampled_detections,
    variational_weights,
)

__all__ = [
    "DECODERS",
    "Clusters",
    "DecoderSettings",
    "UncertaintyEvaluation",
    "baseline",
    "cluster_detections",
    "decode",
    "decode_images",
    "detections_per_pass",
    "draw_weights",
    "evaluate_uncertainty",
    "mean",
    "sampled_detections",
    "var_vote",
    "variational_weights",
]
