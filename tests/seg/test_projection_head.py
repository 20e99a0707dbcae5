"""ContrastProjectionHead: shapes, unit norm, multi-level fusion, argument checks."""
import pytest
import torch

from cl_dense.seg import ContrastProjectionHead


def test_single_level_shape_and_unit_norm():
    head = ContrastProjectionHead(in_channels=6, in_index=1, proj_dim=5)
    feats = [torch.randn(2, 3, 16, 16), torch.randn(2, 6, 8, 8)]
    out = head(feats)
    assert out.shape == (2, 5, 8, 8)
    assert torch.allclose(out.norm(dim=1), torch.ones(2, 8, 8), atol=1e-5)


def test_levels_are_resized_to_the_first_selected_level():
    head = ContrastProjectionHead(in_channels=[3, 6], in_index=[0, 1], proj_dim=4, channels=7)
    assert head.proj[0].conv.in_channels == 9 and head.proj[0].conv.out_channels == 7
    out = head([torch.randn(2, 3, 16, 16), torch.randn(2, 6, 8, 8)])
    assert out.shape == (2, 4, 16, 16)


def test_argument_and_input_errors():
    with pytest.raises(ValueError, match='same non-zero number'):
        ContrastProjectionHead(in_channels=[3, 6], in_index=0)
    with pytest.raises(ValueError, match='proj_dim'):
        ContrastProjectionHead(in_channels=3, in_index=0, proj_dim=0)
    head = ContrastProjectionHead(in_channels=4, in_index=0)
    with pytest.raises(ValueError, match='channels'):
        head([torch.randn(1, 3, 4, 4)])
