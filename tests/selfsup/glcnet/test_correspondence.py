"""GLCNet's paired views and correspondences: the coordinate maps follow the crop, flip and
quarter turns (checked against hand-written index formulas and against painted pixel ids), the
matched cells show the same source pixel (against a brute-force search), and sampling, window
pooling and style statistics match slow references."""
import itertools

import pytest
import torch

from cl_dense.selfsup.glcnet import (OverlappingViews, match_cells, pool_windows, sample_cells,
                                     style_statistics)

HEIGHT, WIDTH, SIZE = 40, 52, 24


def painted_image() -> torch.Tensor:
    """``uint8 [3, H, W]`` whose pixel (r, c) encodes the id ``r * W + c`` in base 256."""
    ids = torch.arange(HEIGHT * WIDTH).view(HEIGHT, WIDTH)
    return torch.stack([ids % 256, (ids // 256) % 256, ids // 65536]).to(torch.uint8)


def pixel_ids(img: torch.Tensor) -> torch.Tensor:
    img = img.long()
    return img[..., 0, :, :] + 256 * img[..., 1, :, :] + 65536 * img[..., 2, :, :]


def reference_source_pixel(i: int, j: int, hflip: bool, turns: int) -> tuple[int, int]:
    """Crop pixel shown at view pixel (i, j): undo each 90 degree counter-clockwise turn
    (``out[i][j] = in[j][S-1-i]``), then the flip (``out[i][j] = in[i][S-1-j]``)."""
    for _ in range(turns):
        i, j = j, SIZE - 1 - i
    return (i, SIZE - 1 - j) if hflip else (i, j)


def views_of(seed: int, **kwargs) -> dict:
    torch.manual_seed(seed)
    results = OverlappingViews(SIZE, **kwargs)(dict(img=painted_image()))
    return results['inputs']


@pytest.mark.parametrize('hflip,turns', list(itertools.product([False, True], range(4))))
def test_coordinate_maps_follow_crop_flip_and_rotation(hflip, turns):
    for seed in range(3):
        inputs = views_of(seed, hflip_prob=float(hflip), quarter_turns=(turns,))
        views, coords = inputs['views'], inputs['coords']
        assert views.shape == (2, 3, SIZE, SIZE) and views.dtype == torch.uint8
        assert coords.shape == (2, 2, SIZE, SIZE) and coords.dtype == torch.int64
        for v in range(2):
            top, left = int(coords[v, 0].min()), int(coords[v, 1].min())
            for i, j in [(0, 0), (0, SIZE - 1), (SIZE - 1, 0), (3, 17), (20, 5)]:
                ci, cj = reference_source_pixel(i, j, hflip, turns)
                assert coords[v, :, i, j].tolist() == [top + ci, left + cj]
            # painted ids: every view pixel shows the source pixel its coordinates name
            assert torch.equal(pixel_ids(views[v]), coords[v, 0] * WIDTH + coords[v, 1])


def brute_force_cells(coords_a, coords_b, feat_size, window):
    """Per cell of a: the cell of b showing a's cell-centre source pixel (searched pixel by
    pixel), and whether both windows fit."""
    stride = SIZE / feat_size
    cells, valid = {}, {}
    half = window // 2
    for r, c in itertools.product(range(feat_size), repeat=2):
        pr, pc = int((r + 0.5) * stride), int((c + 0.5) * stride)
        target = coords_a[:, pr, pc]
        hits = (coords_b == target.view(2, 1, 1)).all(dim=0).nonzero().tolist()
        assert len(hits) <= 1
        if hits:
            br, bc = int(hits[0][0] // stride), int(hits[0][1] // stride)
            cells[r, c] = (br, bc)
            valid[r, c] = all(half <= x < feat_size - half for x in (r, c, br, bc))
        else:
            cells[r, c], valid[r, c] = (-1, -1), False
    return cells, valid


@pytest.mark.parametrize('feat_size,window', [(SIZE, 1), (6, 1), (6, 3), (8, 5)])
def test_matched_cells_agree_with_a_brute_force_search(feat_size, window):
    batch = [views_of(seed) for seed in range(4)]  # random flips and turns per view
    coords = torch.stack([b['coords'] for b in batch])              # [B, 2, 2, S, S]
    cells_b, valid = match_cells(coords[:, 0], coords[:, 1], feat_size, window)
    assert cells_b.shape == (4, feat_size, feat_size, 2) and valid.shape == cells_b.shape[:3]
    for b in range(4):
        cells, ok = brute_force_cells(coords[b, 0], coords[b, 1], feat_size, window)
        for (r, c), cell in cells.items():
            assert tuple(cells_b[b, r, c].tolist()) == cell, (b, r, c)
            assert bool(valid[b, r, c]) == ok[r, c], (b, r, c)
    assert valid.any()


def test_matched_pixels_carry_equal_painted_ids_and_views_overlap():
    for seed in range(8):
        inputs = views_of(seed, max_shift=0.5)
        views, coords = inputs['views'], inputs['coords']
        cells_b, valid = match_cells(coords[None, 0], coords[None, 1], SIZE)
        rows, cols = valid[0].nonzero().unbind(1)
        ids_a = pixel_ids(views[0])[rows, cols]
        ids_b = pixel_ids(views[1])[cells_b[0, rows, cols, 0], cells_b[0, rows, cols, 1]]
        assert torch.equal(ids_a, ids_b)
        assert rows.numel() >= (SIZE - SIZE // 2) ** 2  # at most S/2 shift per axis


def test_disjoint_views_have_no_match():
    coords_a = torch.stack(torch.meshgrid(torch.arange(8), torch.arange(8), indexing='ij'))
    cells_b, valid = match_cells(coords_a[None], coords_a[None] + 100, 4)
    assert not valid.any() and (cells_b == -1).all()


def test_view_pipeline_is_per_view_and_must_keep_the_shape():
    jitter = [dict(type='TorchvisionAugment',
                   transforms=[dict(type='ColorJitter', brightness=0.8)])]
    inputs = views_of(0, view_pipeline=jitter, quarter_turns=(0,), hflip_prob=0.0, max_shift=0.0)
    assert torch.equal(inputs['coords'][0], inputs['coords'][1])  # same crop, two jitters
    assert not torch.equal(inputs['views'][0], inputs['views'][1])
    resize = [dict(type='TorchvisionAugment', transforms=[dict(type='Resize', size=8)])]
    with pytest.raises(ValueError, match='photometric only'):
        views_of(0, view_pipeline=resize)
    with pytest.raises(ValueError, match='at least 64 px'):
        OverlappingViews(64)(dict(img=painted_image(), img_path='small.png'))
    with pytest.raises(ValueError, match='quarter_turns'):
        OverlappingViews(8, quarter_turns=(4,))


def test_sampled_cells_are_distinct_valid_and_at_most_num():
    torch.manual_seed(0)
    valid = torch.rand(3, 5, 5) < 0.5
    valid[2] = False
    valid[1] = False
    valid[1, 2, 3] = True
    batch_index, flat = sample_cells(valid, 6)
    counts = torch.bincount(batch_index, minlength=3).tolist()
    assert counts == [min(6, int(valid[0].sum())), 1, 0]
    assert valid.flatten(1)[batch_index, flat].all()
    pairs = set(zip(batch_index.tolist(), flat.tolist()))
    assert len(pairs) == len(flat)
    assert (1, 2 * 5 + 3) in pairs


def test_window_pooling_matches_a_slow_loop():
    feats = torch.randn(2, 3, 7, 6)
    batch_index, rows, cols = torch.tensor([0, 1, 1, 0]), torch.tensor([1, 5, 3, 2]), \
        torch.tensor([1, 4, 2, 3])
    got = pool_windows(feats, batch_index, rows, cols, 3)
    for m in range(4):
        b, r, c = int(batch_index[m]), int(rows[m]), int(cols[m])
        want = torch.stack([feats[b, :, r + dr, c + dc] for dr in (-1, 0, 1)
                            for dc in (-1, 0, 1)]).mean(0)
        torch.testing.assert_close(got[m], want)
    torch.testing.assert_close(pool_windows(feats, batch_index, rows, cols, 1),
                               feats[batch_index, :, rows, cols])
    with pytest.raises(ValueError, match='leaves the 7x6 feature map'):
        pool_windows(feats, batch_index, rows, cols + 1, 3)
    with pytest.raises(ValueError, match='odd'):
        pool_windows(feats, batch_index, rows, cols, 2)


def test_style_statistics_are_channel_means_then_variances():
    feats = torch.randn(2, 3, 4, 5)
    got = style_statistics(feats)
    assert got.shape == (2, 6)
    for n, ch in itertools.product(range(2), range(3)):
        values = feats[n, ch].flatten().tolist()
        mean = sum(values) / len(values)
        var = sum((x - mean) ** 2 for x in values) / len(values)
        assert got[n, ch].item() == pytest.approx(mean, abs=1e-5)
        assert got[n, 3 + ch].item() == pytest.approx(var, abs=1e-5)
    with pytest.raises(ValueError, match=r'\[N, C, h, w\]'):
        style_statistics(feats[0])
