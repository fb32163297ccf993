"""`FusionNeck`: a `FusionGraph` compiled into an `nn.Module`.

Compilation happens once, in ``__init__``: the graph is walked in topological order and
turned into a flat plan (block, level, sources, weight slice). ``forward`` replays the plan
with plain Python control flow decided at compile time, so a neck exports with
`torch.export.export`, and a pruned graph compiles to a smaller module: removed blocks own
no parameters and cost no compute.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.errors import GraphError
from archsearch.graph import FusionGraph, input_name
from archsearch.graph.fusion_graph import BLOCK
from archsearch.neck.ops import FUSION_OPS
from archsearch.weights import ConnectionWeights, DeterministicWeights


@dataclass(frozen=True)
class _Step:
    """One block of the plan: fuse ``sources`` (with their levels) into ``node``.

    The block's connection weights are the next ``len(sources)`` entries of the weight
    vector: blocks and their inputs follow ``graph.connection_ids`` order.
    """

    node: str
    level: int
    sources: tuple[tuple[str, int], ...]


def _exporting() -> bool:
    """Whether the neck runs under an exporter's trace (ONNX, torch.export)."""
    return torch.jit.is_tracing() or torch.compiler.is_exporting()


def resize(feature: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear resize to the target map's actual size (never a fixed factor).

    Sizes come from the maps themselves, so odd and non-square inputs (97×131) work. The
    result keeps ``feature``'s memory layout (channels-last inside `FusionNeck.fuse`). An
    export always resizes (a resize to the same size is the identity): maps of two levels
    can be the same size on a small image, and a skip recorded there would break the copy
    on any other.
    """
    if not _exporting() and tuple(feature.shape[-2:]) == tuple(size):
        return feature
    return F.interpolate(feature, size=tuple(size), mode="bilinear", align_corners=False)


class _Layout(torch.autograd.Function):
    """A change of memory layout whose gradient changes back to the input's layout.

    `Tensor.contiguous` hands its gradient on untouched, so the gradient of a channels-last
    map made contiguous arrives contiguous, and every op behind it then mixes the two
    layouts, which on the CPU takes torch's slow strided paths (ReLU's, BN's and the convs'
    backward). Converting the gradient back keeps each side of the boundary in one layout
    both ways (``tests/neck/test_fusion_neck.py`` checks both sides).
    """

    @staticmethod
    def forward(ctx, feature, layout):
        channels_last = feature.is_contiguous(memory_format=torch.channels_last)
        ctx.gradient_layout = torch.channels_last if channels_last else torch.contiguous_format
        return feature.contiguous(memory_format=layout)

    @staticmethod
    def backward(ctx, gradient):
        return gradient.contiguous(memory_format=ctx.gradient_layout), None


def to_layout(feature: torch.Tensor, layout: torch.memory_format) -> torch.Tensor:
    """``feature`` in ``layout`` (no copy if it is already), its gradient back in its own.

    The gradient is converted even when the map was not: it may arrive in any layout (the
    detector's RoIAlign sends NCHW gradients back into channels-last outputs).
    """
    if _exporting():
        return feature  # a layout is the CPU kernels' business, and its checks fix sizes
    if not (torch.is_grad_enabled() and feature.requires_grad):
        return feature.contiguous(memory_format=layout)
    return _Layout.apply(feature, layout)


class Laterals(nn.Module):
    """Pyramid inputs from backbone maps (sec. 4.1.1).

    The lowest ``len(in_channels)`` levels come from the backbone's maps by 1×1 convs (P3–P5
    from C3–C5); the next level by a 3×3 stride-2 conv on the last backbone map (P6 from C5);
    every further level by ReLU then a 3×3 stride-2 conv on the level below (P7 from P6).
    """

    def __init__(self, in_channels: Sequence[int], channels: int, num_levels: int) -> None:
        super().__init__()
        if not 0 < len(in_channels) <= num_levels:
            raise GraphError(
                f"{len(in_channels)} backbone maps cannot feed {num_levels} pyramid levels"
            )
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        extra = num_levels - len(in_channels)
        self.extra = nn.ModuleList(
            nn.Conv2d(in_channels[-1] if index == 0 else channels, channels, 3, 2, 1)
            for index in range(extra)
        )

    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        if len(features) != len(self.lateral):
            raise GraphError(f"expected {len(self.lateral)} backbone maps, got {len(features)}")
        maps = [conv(feature) for conv, feature in zip(self.lateral, features, strict=True)]
        previous = features[-1]
        for index, conv in enumerate(self.extra):
            previous = conv(previous if index == 0 else F.relu(previous))
            maps.append(previous)
        return maps


class FusionNeck(nn.Module):
    """The neck of a `FusionGraph`: laterals, one block module per block node, residuals.

    Args:
        graph: a valid fusion graph; its level range fixes the number of outputs.
        in_channels: channels of the backbone maps feeding the lowest levels (C3–C5).
        channels: width of every pyramid map.
        weights: the connection-weight object, indexed like ``graph.connection_ids``;
            deterministic scalars initialised to 1 by default.

    ``forward(features)`` maps the backbone maps to an ``OrderedDict`` ``{"P3": ..., ...}``
    of channels-last maps (see `fuse`). Each output is its tapped node's map plus the input
    map of its level (residual, sec. 4.1.1). Weights pass through ReLU before fusion.
    """

    def __init__(
        self,
        graph: FusionGraph,
        in_channels: Sequence[int],
        channels: int,
        weights: ConnectionWeights | None = None,
    ) -> None:
        super().__init__()
        self.graph = graph.validate()
        self.in_channels = list(in_channels)
        self.out_channels = channels
        self.levels = list(graph.level_range)
        connection_ids = graph.connection_ids
        self.weights = weights if weights is not None else DeterministicWeights(connection_ids)
        if tuple(self.weights.connection_ids) != connection_ids:
            raise GraphError(_mismatch(self.weights.connection_ids, connection_ids))
        self.laterals = Laterals(in_channels, channels, len(self.levels))
        self.blocks = nn.ModuleDict()
        self.plan: list[_Step] = []
        for node in graph.nodes(BLOCK):
            sources = graph.inputs_of(node)
            if "." in node:
                raise GraphError(f"block name {node!r} may not contain '.'")
            self.blocks[node] = FUSION_OPS.get(graph.node(node)["op"])(channels, len(sources))
            levels = tuple((source, graph.node(source)["level"]) for source in sources)
            level = graph.node(node)["level"]
            self.plan.append(_Step(node, level, levels))
        self.taps = [(level, graph.output_source(level)) for level in self.levels]

    def forward(
        self, features: Sequence[torch.Tensor], weights: torch.Tensor | None = None
    ) -> OrderedDict[str, torch.Tensor]:
        """Fuse backbone maps; ``weights`` overrides the weight object (``[C]`` or ``[K, C]``).

        With ``[K, C]`` weights, ``features`` hold K·B images (B per weight sample, sample-major).
        The laterals already run in the graph's channels-last layout (see `_run_graph`): the
        largest backbone map is narrower than its pyramid map in the small backbones (C2 of
        the quick profile has 32 channels, P2 64), so converting before the laterals copies
        less, and the lateral convs then run in the layout the graph's convs use.
        """
        maps = self.laterals([to_layout(f, torch.channels_last) for f in features])
        return self._run_graph(maps, weights)

    def fuse(
        self, inputs: Sequence[torch.Tensor], weights: torch.Tensor | None = None
    ) -> OrderedDict[str, torch.Tensor]:
        """The graph's part of `forward`: pyramid input maps (one per level, any layout) to
        outputs.

        Exposed so that a cell can be compared with another implementation on the same
        P3–P7 maps, laterals excluded (``experiments/benchmarks/bifpn_vs_effdet.py``).
        """
        return self._run_graph([to_layout(m, torch.channels_last) for m in inputs], weights)

    def _run_graph(
        self, inputs: Sequence[torch.Tensor], weights: torch.Tensor | None
    ) -> OrderedDict[str, torch.Tensor]:
        """The graph on channels-last pyramid maps (`forward`'s laterals make them so).

        The graph runs in channels-last layout: on the CPU, torch's bilinear resize and
        depthwise convs are several times faster there, and BN and sums take it as it is.
        The maps change layout once on the way in, and the outputs stay channels-last: the
        heads' convs take them as they are (and run faster on them), where a conversion back
        would copy the largest map twice per step, forward and backward. Their gradients are
        brought back into the graph's layout at the outputs whatever layout the heads send
        (`experiments/benchmarks/detector_throughput.py` and `sampled_inference.py` measure
        the neck in its detector).
        """
        values = {input_name(level): m for level, m in zip(self.levels, inputs, strict=True)}
        sizes = {level: m.shape[-2:] for level, m in zip(self.levels, inputs, strict=True)}
        w = F.relu(self.weights() if weights is None else weights)
        # One split for all blocks: a single autograd node, where a slice per block costs
        # a zero-filled copy of the whole vector each in backward.
        per_block = w.split([len(step.sources) for step in self.plan], dim=-1)
        for step, block_weights in zip(self.plan, per_block, strict=True):
            resized = [resize(values[source], sizes[step.level]) for source, _ in step.sources]
            values[step.node] = self.blocks[step.node](resized, block_weights)
        out = OrderedDict()
        for level, source in self.taps:
            residual = values[input_name(level)]
            fused = residual if source == input_name(level) else values[source] + residual
            out[f"P{level}"] = to_layout(fused, torch.channels_last)
        return out

    def pruned(self, keep: Sequence[str] | set[str]) -> FusionNeck:
        """The neck of ``graph.prune(keep)``, sharing every surviving module.

        The laterals and each surviving block are the same module objects as in this neck
        (a block whose parameter shapes depend on its inputs, such as a concatenation that
        lost some, is built afresh), so their parameters, and an optimizer's state for
        them, carry over by identity. The weight object is restricted to the surviving
        connections by its own ``select``. Use the returned neck in place of this one.
        """
        graph = self.graph.prune(keep)
        weights = self.weights.select(graph.connection_ids)
        neck = FusionNeck(graph, self.in_channels, self.out_channels, weights)
        neck.laterals = self.laterals
        for name, block in neck.blocks.items():
            if _same_shapes(self.blocks[name], block):
                neck.blocks[name] = self.blocks[name]
        return neck.to(next(self.laterals.parameters()).device)


def _same_shapes(a: nn.Module, b: nn.Module) -> bool:
    shapes = [{k: v.shape for k, v in m.state_dict().items()} for m in (a, b)]
    return shapes[0] == shapes[1]


def _mismatch(got: Sequence[str], expected: Sequence[str]) -> str:
    extra = [c for c in got if c not in set(expected)]
    missing = [c for c in expected if c not in set(got)]
    detail = (
        f"missing {missing[:3]}"
        if missing
        else f"extra {extra[:3]}"
        if extra
        else "in another order"
    )
    return f"weight object does not match the graph's connections: {detail}"
