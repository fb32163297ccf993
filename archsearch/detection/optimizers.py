"""The connection weights' optimizer, and keeping optimizers going across a recompiled neck.

`connection_optimizer` builds the optimizer a strategy declares for its connection weights
(`archsearch.strategies.base.connection_training`); the trainer and any other loop call it,
so a strategy's weights train the same way everywhere.

`FusionNeck.pruned` reuses the module objects of surviving blocks and laterals, so their
parameters, and their optimizer state, survive by identity. Only the weight object is new:
its per-connection vectors are the old ones restricted to the survivors, and so is their
state (momentum follows the kept connections). Parameters of other shapes (FullARD's
precision factor, re-factorized over the kept connections) restart with empty state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from archsearch.neck import FusionNeck


def connection_optimizer(
    params: Iterable[nn.Parameter],
    settings: Mapping[str, Any],
    lr: float,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """The optimizer of the connection weights ``params`` under a strategy's ``settings``
    (its ``params``: ``connection_optimizer``, ``connection_lr``, ``connection_decay``).

    ``lr`` and ``momentum`` are the detector's: the learning rate when ``connection_lr`` is
    None, and SGD's momentum.
    """
    rate = lr if settings["connection_lr"] is None else settings["connection_lr"]
    decay = settings["connection_decay"]
    if settings["connection_optimizer"] == "adam":
        return torch.optim.Adam(params, lr=rate, weight_decay=decay)
    return torch.optim.SGD(params, lr=rate, momentum=momentum, weight_decay=decay)


def swap_neck_parameters(
    optimizer: torch.optim.Optimizer,
    old: FusionNeck,
    new: FusionNeck,
    params: Sequence[nn.Parameter],
) -> None:
    """Make ``optimizer`` train ``params`` (the model's, after ``new`` replaced ``old``).

    In place, so a learning-rate scheduler bound to the optimizer keeps working. Each group
    keeps the parameters it held, in the order of ``params`` (the model's order: a resumed
    run that rebuilds the neck gets the same layout, so saved optimizer state fits); a new
    weight parameter takes the group and the restricted state of its old namesake; any other
    new parameter joins the first group with fresh state.
    """
    kept = old.weights.indices(new.weights.connection_ids)
    old_weights = dict(old.weights.named_parameters())
    heir = {
        id(param): old_weights[name]
        for name, param in new.weights.named_parameters()
        if name in old_weights
    }
    held = [{id(p) for p in group["params"]} for group in optimizer.param_groups]
    placed = set().union(*held)
    for index, group in enumerate(optimizer.param_groups):
        group["params"] = [
            p
            for p in params
            if id(p) in held[index]
            or (id(p) in heir and id(heir[id(p)]) in held[index])
            or (index == 0 and id(p) not in placed and id(p) not in heir)
        ]
    for param in params:
        previous = heir.get(id(param))
        state = optimizer.state.pop(previous, None) if previous is not None else None
        if state:
            optimizer.state[param] = _select_state(state, previous, param, kept, len(old.weights))
    alive = {id(p) for p in params}
    for param in list(optimizer.state):
        if id(param) not in alive:
            del optimizer.state[param]


def _select_state(
    state: dict, old: torch.Tensor, new: torch.Tensor, kept: torch.Tensor, connections: int
) -> dict:
    """Per-connection state (a vector over the old ``connections``) follows the kept ones;
    the state of a parameter all connections share (a global scale) carries over; other
    shapes start afresh."""
    if old.dim() == 1 and len(old) == connections:
        kept = kept.to(old.device)
        return {
            key: value[kept] if torch.is_tensor(value) and value.shape == old.shape else value
            for key, value in state.items()
        }
    return state if old.shape == new.shape else {}
