"""The DetCo benchmark's baselines compute what the package computes."""
import pytest
import torch
import torch.nn.functional as F

from cl_dense.losses import info_nce
from tests.selfsup.tiny import multiview_batch, tiny_detco
from tests.tool_loading import load_tool


def _load():
    return load_tool('analysis_tools/benchmark_detco.py')


def test_dense_baseline_is_the_streaming_loss():
    bench = _load()
    q, keys = (F.normalize(torch.randn(n, 8, dtype=torch.float64), dim=1) for n in (5, 40))
    positives = torch.tensor([38, 39, 0, 1, 2])
    torch.testing.assert_close(bench.dense_info_nce(q, keys, positives, 0.2),
                               info_nce(q, keys, positives, 0.2))


@pytest.mark.parametrize('local_order', ['shuffled', 'cell'])
def test_looped_patches_give_the_batched_local_embeddings(local_order):
    bench = _load()
    model = tiny_detco().eval()  # eval: BN statistics do not depend on how patches are batched
    model.query_encoder.local_order = local_order
    inputs = model.data_preprocessor(multiview_batch(batch=3), False)['inputs']
    patches, perm = inputs['jigsaw'][:, 0], inputs['jigsaw_perm'][:, 0]
    with torch.no_grad():
        batched = model.query_encoder.local_embed(patches, perm)
        looped = bench.looped_local_embed(model.query_encoder, patches, perm)
    for a, b in zip(batched, looped):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_batches_have_the_model_input_layout():
    bench = _load()
    data = bench.make_batch(batch=2, size=32, patch=16, local=True)
    assert data['inputs']['jigsaw'][0].shape == (2, 9, 3, 16, 16)
    model = tiny_detco()
    out = model.train_step(data, bench.OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert torch.isfinite(out['loss'])
