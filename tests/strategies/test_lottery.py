"""Lottery ticket: survivors are rewound to their values at the rewind point."""

import io

import torch

from archsearch.graph import dense
from archsearch.strategies import StrategyRunner, create_strategy
from tests.strategies.toy import CHANNELS, IN_CHANNELS, PlantedWiring


def test_lottery_rewinds_survivors_to_the_saved_values():
    torch.manual_seed(0)
    runner = StrategyRunner(create_strategy("lottery", rounds=1, prune_start=0.5), dense(), 10, 100)
    neck = runner.start(runner.build_neck(IN_CHANNELS, CHANNELS))
    initial = {k: v.clone() for k, v in neck.state_dict().items()}
    initial_weights = neck.weights.values.detach().clone()
    task = PlantedWiring(seed=0)
    optimizer = torch.optim.SGD(neck.parameters(), lr=0.05, momentum=0.9)
    for step in range(1, 11):
        optimizer.zero_grad()
        task.loss(neck).backward()
        optimizer.step()
        before = {k: v.clone() for k, v in neck.state_dict().items()}
        if step == 3:  # the rewind point survives a checkpoint read as data
            buffer = io.BytesIO()
            torch.save(runner.state_dict(), buffer)
            buffer.seek(0)
            runner.load_state_dict(torch.load(buffer, weights_only=True))
        neck = runner.after_step(neck, step)
        if runner.prunings and runner.prunings[-1] == step:
            break
    assert runner.prunings == [5]
    assert len(neck.weights) == 9
    for key, value in neck.state_dict().items():
        if key.startswith("weights.") or "num_batches_tracked" in key:
            continue
        assert torch.equal(value, initial[key]), key
        assert not torch.equal(value, before[key]) or "running" in key or "bias" in key
    kept = runner.history.connection_ids
    index = [kept.index(c) for c in neck.weights.connection_ids]
    assert torch.equal(neck.weights.values.detach(), initial_weights[index])
