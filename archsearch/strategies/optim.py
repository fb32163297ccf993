"""Keeping an optimizer going across a recompiled neck.

`FusionNeck.pruned` reuses the module objects of surviving blocks and laterals, so their
parameters (and their momentum buffers) survive by identity. Only the weight object is new:
its per-connection vectors are the old ones restricted to the survivors, and so is their
optimizer state. Parameters of other shapes (FullARD's precision factor, re-factorized over
the kept connections) restart with empty state.
"""

from __future__ import annotations

import torch

from archsearch.neck import FusionNeck


def swap_neck_parameters(
    optimizer: torch.optim.Optimizer, old: FusionNeck, new: FusionNeck, reset: bool = False
) -> None:
    """Replace ``old``'s parameters by ``new``'s in ``optimizer``, in place, carrying state.

    In place, so a learning-rate scheduler bound to ``optimizer`` keeps working. Each new
    weight parameter joins the param group that held the old one of the same name. ``reset``
    drops the state of every neck parameter (after a lottery-ticket rewind, momentum belongs
    to the old values).
    """
    kept = old.weights.indices(new.weights.connection_ids)
    old_ids = {id(p) for p in old.parameters()}
    surviving = {id(p) for p in new.parameters()}
    old_weights = dict(old.weights.named_parameters())
    for group in optimizer.param_groups:
        held = {id(p) for p in group["params"]}
        group["params"] = [p for p in group["params"] if id(p) not in old_ids or id(p) in surviving]
        for name, param in new.weights.named_parameters():
            previous = old_weights.get(name)
            if previous is None or id(previous) not in held:
                continue
            group["params"].append(param)
            state = optimizer.state.pop(previous, None)
            if state and not reset:
                optimizer.state[param] = _select_state(state, previous, kept)
    for param in old.parameters():
        if id(param) not in surviving or reset:
            optimizer.state.pop(param, None)


def _select_state(state: dict, param: torch.Tensor, kept: torch.Tensor) -> dict:
    """Per-connection state follows the kept connections; other shapes start afresh."""
    if param.dim() != 1:
        return {}
    kept = kept.to(param.device)
    return {
        key: value[kept] if torch.is_tensor(value) and value.shape == param.shape else value
        for key, value in state.items()
    }
