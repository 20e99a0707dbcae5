"""supervised_contrast (CPU kernel) against the dense reference, hand values, edge cases, errors."""
import math
import zlib

import pytest
import torch
import torch.nn.functional as F

from cl_dense.ops import contrast_cpu, supervised_contrast
from cl_dense.ops.memory_probe import peak_extra_bytes
from cl_dense.ops.reference import supervised_contrast_reference

IGNORE = 255


def make_case(seed: int, num_anchors: int, num_keys: int, dim: int, anchor_classes: int,
              key_classes: int, ignore_rate: float = 0.1, dtype: torch.dtype = torch.float32):
    """L2-normalised anchors/keys and labels with some ignored entries."""
    gen = torch.Generator().manual_seed(seed)

    def labels(n: int, classes: int) -> torch.Tensor:
        lab = torch.randint(0, classes, (n,), generator=gen)
        return torch.where(torch.rand(n, generator=gen) < ignore_rate, IGNORE, lab)

    anchors = F.normalize(torch.randn(num_anchors, dim, generator=gen), dim=1).to(dtype)
    keys = F.normalize(torch.randn(num_keys, dim, generator=gen), dim=1).to(dtype)
    return anchors, labels(num_anchors, anchor_classes), keys, labels(num_keys, key_classes)


def loss_and_grads(fn, anchors, anchor_labels, keys, key_labels, keys_grad=True, **kwargs):
    """Loss and gradients of ``fn`` w.r.t. anchors (and keys, unless self-contrast)."""
    anchors = anchors.detach().clone().requires_grad_()
    inputs = [anchors]
    if keys is not None:
        keys = keys.detach().clone().requires_grad_(keys_grad)
        if keys_grad:
            inputs.append(keys)
    loss = fn(anchors, anchor_labels, keys, key_labels, **kwargs)
    return loss, torch.autograd.grad(loss, inputs)


def assert_matches_reference(anchors, anchor_labels, keys, key_labels, rtol=1e-5, **kwargs):
    chunk_size = kwargs.pop('chunk_size', 8192)
    loss, grads = loss_and_grads(supervised_contrast, anchors, anchor_labels, keys, key_labels,
                                 chunk_size=chunk_size, **kwargs)
    ref_loss, ref_grads = loss_and_grads(supervised_contrast_reference, anchors.double(),
                                         anchor_labels, None if keys is None else keys.double(),
                                         key_labels, **kwargs)
    assert loss.dtype == (torch.float64 if anchors.dtype == torch.float64 else torch.float32)
    torch.testing.assert_close(loss.double(), ref_loss, rtol=rtol, atol=rtol * 1e-2)
    for grad, ref in zip(grads, ref_grads):
        assert grad.dtype == anchors.dtype
        scale = ref.abs().max().item() + 1e-7
        torch.testing.assert_close(grad.double(), ref, rtol=rtol, atol=rtol * scale)


CASES = {
    # name: (A, M, D, anchor classes, key classes)
    'generic': (37, 101, 16, 6, 6),
    'classes_absent_from_keys': (29, 60, 8, 8, 3),
    'single_class': (12, 30, 8, 1, 1),
    'one_anchor': (1, 50, 8, 2, 2),
    'more_anchors_than_keys': (64, 9, 8, 3, 3),
}


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
@pytest.mark.parametrize('case', list(CASES))
@pytest.mark.parametrize('chunk_size', [1, 7, 16, 4096])
def test_matches_reference(case, denominator, chunk_size):
    # crc32, not hash(): str hashes are salted per process, so the case would change every run
    a, al, k, kl = make_case(zlib.crc32(case.encode()) % 1000 + chunk_size, *CASES[case])
    if case == 'one_anchor':
        al[0] = 1
    assert_matches_reference(a, al, k, kl, temperature=0.1, base_temperature=0.07,
                             denominator=denominator, chunk_size=chunk_size)


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
@pytest.mark.parametrize('chunk_size', [8, 16, 48, 7, 20])
def test_chunks_that_do_and_do_not_divide_the_keys(denominator, chunk_size):
    """48 valid keys (none ignored): chunks 8, 16, 48 divide them, 7 and 20 leave a remainder."""
    a, al, k, kl = make_case(chunk_size, 24, 48, 8, 4, 4, ignore_rate=0.0)
    assert_matches_reference(a, al, k, kl, temperature=0.1, denominator=denominator,
                             chunk_size=chunk_size)


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
@pytest.mark.parametrize('chunk_size', [1, 5, 8, 64])
def test_self_contrast_matches_reference(denominator, chunk_size):
    a, al, _, _ = make_case(chunk_size, 40, 0, 8, 5, 5)
    assert_matches_reference(a, al, None, None, temperature=0.07, denominator=denominator,
                             self_contrast=True, chunk_size=chunk_size)


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
@pytest.mark.parametrize('self_contrast', [False, True])
@pytest.mark.parametrize('temperature,norm', [(0.01, 1.0), (0.1, 8.0)])
def test_large_similarities_take_the_shifted_path(denominator, self_contrast, temperature, norm):
    """|s| up to 100 or 640: exp(s) would overflow float32 without the running maximum."""
    a, al, k, kl = make_case(13, 30, 30, 8, 3, 3)
    a, k = a * norm, k * norm
    assert not contrast_cpu._is_bounded(a / temperature, k, 64)
    if self_contrast:
        k, kl = None, None
    assert_matches_reference(a, al, k, kl, temperature=temperature, denominator=denominator,
                             self_contrast=self_contrast, chunk_size=7)


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
def test_float64_is_exact(denominator):
    a, al, k, kl = make_case(3, 21, 77, 8, 4, 4, dtype=torch.float64)
    assert_matches_reference(a, al, k, kl, rtol=1e-11, temperature=0.05, denominator=denominator,
                             chunk_size=10)


def test_keys_already_sorted_and_valid_take_the_fast_path():
    """A bank's keys() arrive sorted by label with nothing ignored; same result as shuffled."""
    a, al, k, kl = make_case(5, 30, 90, 8, 4, 4, ignore_rate=0.0)
    order = torch.argsort(kl, stable=True)
    assert_matches_reference(a, al, k[order], kl[order], temperature=0.1, chunk_size=16)
    sorted_loss = supervised_contrast(a, al, k[order], kl[order], 0.1, chunk_size=16)
    shuffled_loss = supervised_contrast(a, al, k, kl, 0.1, chunk_size=16)
    torch.testing.assert_close(sorted_loss, shuffled_loss, rtol=1e-6, atol=0)


def test_hand_computed_values():
    """One anchor (1, 0); positives (1, 0), (0, 1); negative (-1, 0); t = 1."""
    anchors = torch.tensor([[1.0, 0.0]])
    keys = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    anchor_labels, key_labels = torch.tensor([0]), torch.tensor([0, 0, 1])
    seg = supervised_contrast(anchors, anchor_labels, keys, key_labels, 1.0)
    expected_seg = -0.5 * ((1 - math.log(math.e + math.exp(-1)))
                           + (0 - math.log(1 + math.exp(-1))))
    assert seg.item() == pytest.approx(expected_seg, rel=1e-6)
    sup = supervised_contrast(anchors, anchor_labels, keys, key_labels, 1.0, denominator='supcon')
    log_z = math.log(math.e + 1 + math.exp(-1))
    assert sup.item() == pytest.approx(log_z - 0.5, rel=1e-6)
    scaled = supervised_contrast(anchors, anchor_labels, keys, key_labels, 1.0, 0.5)
    assert scaled.item() == pytest.approx(2 * expected_seg, rel=1e-6)


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
@pytest.mark.parametrize('what', ['all_anchors_ignored', 'no_keys', 'no_positive'])
def test_empty_cases_give_zero_loss_and_zero_grad(what, denominator):
    a, al, k, kl = make_case(0, 6, 10, 4, 2, 2, ignore_rate=0.0)
    if what == 'all_anchors_ignored':
        al[:] = IGNORE
    elif what == 'no_keys':
        k, kl = k[:0], kl[:0]
    else:
        al[:], kl[:] = 0, 1
    loss, grads = loss_and_grads(supervised_contrast, a, al, k, kl, temperature=0.1,
                                 denominator=denominator)
    assert loss.item() == 0.0
    for grad in grads:
        assert torch.equal(grad, torch.zeros_like(grad))


def test_negative_free_anchor_is_zero_not_nan():
    """contrastiveseg: an anchor whose keys are all positives has log(sum over no negatives)."""
    a, _, k, _ = make_case(1, 4, 6, 4, 1, 1, ignore_rate=0.0)
    al, kl = torch.zeros(4, dtype=torch.int64), torch.zeros(6, dtype=torch.int64)
    loss, grads = loss_and_grads(supervised_contrast, a, al, k, kl, temperature=0.07)
    assert loss.item() == 0.0
    assert all(torch.isfinite(g).all() for g in grads)


def test_keys_only_gradient_and_no_grad_mode():
    a, al, k, kl = make_case(14, 9, 25, 4, 3, 3)
    k.requires_grad_()
    supervised_contrast(a, al, k, kl, 0.1, denominator='supcon', chunk_size=4).backward()
    k64 = k.detach().double().requires_grad_()
    supervised_contrast_reference(a.double(), al, k64, kl, 0.1, denominator='supcon').backward()
    torch.testing.assert_close(k.grad.double(), k64.grad, rtol=1e-5, atol=1e-7)
    with torch.no_grad():
        value = supervised_contrast(a.requires_grad_(), al, k, kl, 0.1)
    assert not value.requires_grad and a.grad is None


def test_keys_without_grad_get_none():
    a, al, k, kl = make_case(2, 8, 20, 4, 2, 2)
    a.requires_grad_()
    supervised_contrast(a, al, k, kl, 0.1).backward()
    assert a.grad is not None and k.grad is None


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_accumulate_in_float32(dtype):
    a, al, k, kl = make_case(4, 30, 200, 16, 3, 3, dtype=dtype)
    loss, grads = loss_and_grads(supervised_contrast, a, al, k, kl, temperature=0.07,
                                 chunk_size=32)
    ref, ref_grads = loss_and_grads(supervised_contrast_reference, a.double(), al, k.double(), kl,
                                    temperature=0.07)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    for grad, expected in zip(grads, ref_grads):
        assert grad.dtype == dtype
        scale = expected.abs().max().item()
        torch.testing.assert_close(grad.double(), expected, rtol=1e-2, atol=1e-2 * scale)


def test_float16_anchor_gradient_survives_loss_scaling():
    """As under AMP's loss scaling: ``(scale * loss).backward()`` with float16 anchors. The op's
    float32 gradient is scaled before it is cast, so entries below float16's smallest subnormal
    (6e-8) before scaling are not flushed to zero; each entry is the scaled float64 gradient
    rounded once to float16. (AMP's initial scale 2**16 is itself beyond float16's range, so a
    gradient kept in float16 and multiplied by it would even turn into inf/NaN.)"""
    scale, t, t_b = 2.0 ** 16, 0.07, 700.0  # t / t_b = 1e-4 stands for a small loss weight
    a, al, k, kl = make_case(11, 256, 1000, 64, 8, 8, dtype=torch.float16)
    anchors = a.detach().clone().requires_grad_()
    (supervised_contrast(anchors, al, k, kl, t, t_b, chunk_size=512) * scale).backward()
    ref_anchors = a.double().requires_grad_()
    (supervised_contrast_reference(ref_anchors, al, k.double(), kl, t, t_b) * scale).backward()
    expected = ref_anchors.grad.to(torch.float16)
    tiny = (ref_anchors.grad.abs() < 2.0 ** -24 * scale) & (expected != 0)
    assert int(tiny.sum()) > 100  # the case has entries that unscaled float16 cannot hold
    assert not (anchors.grad[expected != 0] == 0).any()
    torch.testing.assert_close(anchors.grad.double(), expected.double(), rtol=2e-3,
                               atol=1e-3 * expected.abs().max().item())


@pytest.mark.parametrize('keys_grad', [False, True])
def test_enclosing_cpu_autocast_does_not_change_the_result(keys_grad):
    """Under bf16 autocast (as in ``--amp`` training) the op still computes in float32."""
    a, al, k, kl = make_case(5, 12, 50, 8, 3, 3)
    expected, expected_grads = loss_and_grads(supervised_contrast, a, al, k, kl, keys_grad=keys_grad,
                                              temperature=0.1, chunk_size=16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss, grads = loss_and_grads(supervised_contrast, a, al, k, kl, keys_grad=keys_grad,
                                     temperature=0.1, chunk_size=16)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected)
    for grad, ref in zip(grads, expected_grads):
        torch.testing.assert_close(grad, ref)


def test_loss_is_the_anchor_mean_of_per_anchor_losses():
    """Anchors without a positive do not dilute the mean."""
    a, al, k, kl = make_case(6, 10, 30, 8, 2, 2, ignore_rate=0.0)
    al[5:] = 7  # class absent from keys
    full = supervised_contrast(a, al, k, kl, 0.1)
    first = supervised_contrast(a[:5], al[:5], k, kl, 0.1)
    torch.testing.assert_close(full, first)


def test_opcheck_registrations():
    a, al, k, kl = make_case(8, 9, 17, 4, 3, 3)
    args = (a.requires_grad_(), al, k.requires_grad_(), kl, 0.1, 0.07, 'contrastiveseg', IGNORE,
            False, 5, True, True)
    torch.library.opcheck(torch.ops.cl_dense.supervised_contrast_forward.default, args)
    _, log_z, pos_weight, _ = torch.ops.cl_dense.supervised_contrast_forward(*args)
    torch.library.opcheck(torch.ops.cl_dense.supervised_contrast_keys_backward.default,
                          (torch.tensor(1.0), a.detach(), al, k.detach(), kl, log_z, pos_weight,
                           *args[4:10]))


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
def test_torch_compile_matches_eager(denominator):
    a, al, k, kl = make_case(9, 16, 40, 8, 3, 3)

    def step(anchors, keys):
        return supervised_contrast(anchors, al, keys, kl, 0.1, denominator=denominator,
                                   chunk_size=9) * 2.0

    eager, eager_grads = loss_and_grads(lambda x, _, y, __: step(x, y), a, al, k, kl)
    compiled_step = torch.compile(step, backend='aot_eager', fullgraph=True)
    compiled, compiled_grads = loss_and_grads(lambda x, _, y, __: compiled_step(x, y), a, al, k, kl)
    torch.testing.assert_close(compiled, eager)
    for got, expected in zip(compiled_grads, eager_grads):
        torch.testing.assert_close(got, expected)


def test_extra_memory_is_per_chunk_not_per_key():
    """Forward + backward with chunk 256 allocates far less than one [A, M] float matrix."""
    num_anchors, num_keys = 256, 16384
    a, al, k, kl = make_case(10, num_anchors, num_keys, 16, 4, 4)
    a.requires_grad_()
    peak = peak_extra_bytes(
        lambda: supervised_contrast(a, al, k, kl, 0.1, chunk_size=256).backward())
    dense_bytes = num_anchors * num_keys * 4
    assert 0 < peak < dense_bytes / 6  # the rest is O(M) label bookkeeping


def bad_inputs():
    a, al, k, kl = make_case(11, 5, 8, 4, 2, 2)
    yield 'anchors', dict(anchors=a[0])
    yield 'keys', dict(keys=k[:, :3])
    yield 'anchor_labels', dict(anchor_labels=al.int())
    yield 'key_labels', dict(key_labels=kl[:4])
    yield 'dtype', dict(keys=k.double())
    yield 'device', dict(keys=k.to('meta'))
    yield 'anchor_labels', dict(anchor_labels=torch.full_like(al, -3))
    yield 'key_labels', dict(key_labels=torch.full_like(kl, -1))
    yield 'anchors', dict(anchors=a.clone().fill_(float('nan')))
    yield 'keys', dict(keys=torch.where(torch.arange(8)[:, None] == 3, float('inf'), k))
    yield 'temperature', dict(temperature=0.0)
    yield 'base_temperature', dict(base_temperature=-1.0)
    yield 'denominator', dict(denominator='infonce')
    yield 'chunk_size', dict(chunk_size=0)


@pytest.mark.parametrize('name,change', list(bad_inputs()),
                         ids=[f'{name}-{i}' for i, (name, _) in enumerate(bad_inputs())])
def test_bad_input_raises_value_error_naming_the_argument(name, change):
    a, al, k, kl = make_case(11, 5, 8, 4, 2, 2)
    kwargs = dict(anchors=a, anchor_labels=al, keys=k, key_labels=kl, temperature=0.1)
    kwargs.update(change)
    with pytest.raises(ValueError, match=name):
        supervised_contrast(**kwargs)


def test_self_contrast_requires_matching_labels():
    a, al, _, _ = make_case(12, 6, 0, 4, 2, 2)
    with pytest.raises(ValueError, match='key_labels'):
        supervised_contrast(a, al, a, torch.roll(al, 1) * 0 + 9, 0.1, self_contrast=True)
