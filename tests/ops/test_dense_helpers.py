"""region_means and per-region pixel sampling: reference values, properties, reproducibility."""
import pytest
import torch

from cl_dense.ops import region_means, sample_pixel_indices, sample_pixels_per_region
from cl_dense.ops.reference import region_means_reference

IGNORE = 255


def dense_case(seed: int, batch: int = 3, dim: int = 5, height: int = 6, width: int = 7,
               num_classes: int = 4):
    gen = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(batch, dim, height, width, generator=gen)
    labels = torch.randint(0, num_classes + 1, (batch, height, width), generator=gen)
    labels[labels == num_classes] = IGNORE
    labels[0] = IGNORE  # an image with only ignored pixels
    labels[1][labels[1] == 2] = 0  # a class absent from one image
    return embeddings, labels


@pytest.mark.parametrize('seed', range(3))
def test_region_means_match_the_loop_reference(seed):
    embeddings, labels = dense_case(seed)
    means, region_labels, images = region_means(embeddings, labels, 4)
    ref_means, ref_labels, ref_images = region_means_reference(embeddings, labels, 4)
    assert torch.equal(region_labels, ref_labels) and torch.equal(images, ref_images)
    torch.testing.assert_close(means.double(), ref_means, rtol=1e-5, atol=1e-6)
    assert 0 not in images.tolist() and (2 not in region_labels[images == 1].tolist())


def test_region_means_with_everything_ignored_is_empty():
    embeddings, labels = dense_case(0)
    means, region_labels, images = region_means(embeddings, torch.full_like(labels, IGNORE), 4)
    assert means.shape == (0, 5) and region_labels.numel() == 0 and images.numel() == 0


def test_region_means_carry_gradient():
    embeddings, labels = dense_case(1)
    embeddings.requires_grad_()
    region_means(embeddings, labels, 4)[0].sum().backward()
    assert embeddings.grad is not None and torch.isfinite(embeddings.grad).all()


@pytest.mark.parametrize('k', [1, 3, 1000])
def test_sampling_takes_min_k_n_distinct_pixels_of_each_region(k):
    embeddings, labels = dense_case(2)
    index = sample_pixel_indices(labels, k, 4, generator=torch.Generator().manual_seed(0))
    assert index.unique().numel() == index.numel()
    flat = labels.reshape(-1)
    pixels = labels[0].numel()
    for b in range(labels.shape[0]):
        for c in range(4):
            region = (flat == c) & (torch.arange(flat.numel()) // pixels == b)
            chosen = region[index].sum().item()
            assert chosen == min(k, int(region.sum()))
    assert (flat[index] != IGNORE).all()


def test_sampling_returns_the_chosen_embeddings():
    embeddings, labels = dense_case(3)
    feats, region_labels, images = sample_pixels_per_region(
        embeddings, labels, 2, 4, generator=torch.Generator().manual_seed(1))
    index = sample_pixel_indices(labels, 2, 4, generator=torch.Generator().manual_seed(1))
    per_pixel = embeddings.permute(0, 2, 3, 1).reshape(-1, embeddings.shape[1])
    assert torch.equal(feats, per_pixel[index])
    assert torch.equal(region_labels, labels.reshape(-1)[index])
    assert torch.equal(images, index // labels[0].numel())


def test_sampling_is_reproducible_under_a_generator_and_varies_with_the_seed():
    _, labels = dense_case(4, height=16, width=16)

    def draw(seed: int) -> torch.Tensor:
        return sample_pixel_indices(labels, 3, 4, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(7), draw(7))
    assert not torch.equal(draw(7), draw(8))


def test_sampling_is_uniform_within_a_region():
    labels = torch.zeros(1, 1, 10, dtype=torch.int64)
    gen = torch.Generator().manual_seed(0)
    hits = torch.zeros(10)
    for _ in range(2000):
        hits[sample_pixel_indices(labels, 3, 1, generator=gen)] += 1
    # each pixel is chosen with probability 3/10: 600 of 2000 draws, sd ~ 20
    assert (hits - 600).abs().max() < 100


@pytest.mark.parametrize('fn', [region_means, lambda e, l, c: sample_pixels_per_region(e, l, 2, c)])
def test_bad_dense_inputs(fn):
    embeddings, labels = dense_case(5)
    with pytest.raises(ValueError, match='labels'):
        fn(embeddings, labels[:, :3], 4)
    with pytest.raises(ValueError, match='labels'):
        fn(embeddings, torch.full_like(labels, 4), 4)
    with pytest.raises(ValueError, match='embeddings'):
        fn(embeddings[0], labels, 4)
    with pytest.raises(ValueError, match='embeddings'):
        fn(embeddings.fill_(float('nan')), labels, 4)


@pytest.mark.parametrize('fn', [region_means,
                                lambda e, lab, c: sample_pixels_per_region(e, lab, 1, c)])
def test_nan_in_an_ignored_pixel_raises_like_any_other(fn):
    """The contract: every embedding is finite, ignored pixels included (a NaN anywhere means the
    network diverged). Before, sampling checked only the pixels it drew and region_means
    raised through 0 * NaN in its product: the two ops disagreed."""
    embeddings, labels = dense_case(4)
    labels[2] = 1
    labels[2, 0, 0] = IGNORE
    embeddings[2, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        fn(embeddings, labels, 4)


@pytest.mark.parametrize('fn', [region_means,
                                lambda e, lab, c, **kw: sample_pixels_per_region(e, lab, 1, c, **kw)])
def test_validate_false_skips_the_data_check(fn):
    """With ``validate=False`` the caller vouches for the data: no check, no host sync."""
    embeddings, labels = dense_case(5)
    embeddings[1, 0, 0, 0] = float('nan')
    fn(embeddings, labels, 4, validate=False)  # does not raise
