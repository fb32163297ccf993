"""The receptive-field measurement against stacks of convolutions whose field is known."""

from torch import nn

from experiments.analysis.receptive_field import receptive_fields


class _Stack(nn.Module):
    """Two maps: after one 3x3 convolution (field 3), then after a 3x3 and a 5x5 (field 9)."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv2d(3, 4, 3, padding=1)
        self.second = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 5, padding=2))

    def forward(self, x):
        first = self.first(x)
        return [first, self.second(first)]


def test_fields_of_known_convolutions():
    assert receptive_fields(_Stack(), size=32) == [3, 3 + 2 + 4]
