"""The micro-benchmark compares like with like: both variants of each case give the same result."""
import pytest
import torch

from ..tool_loading import load_tool


@pytest.fixture(scope='module')
def bench():
    return load_tool('analysis_tools/benchmark_micro_ops.py')


def test_variants_of_each_case_agree(bench):
    found = bench.cases(torch.Generator().manual_seed(1), bench.TINY_SHAPES)
    assert {name.split()[0] for name in found} == {'nonfinite', 'stable_argsort', 'softplus',
                                                   'row_sum'}
    for name, (chosen, fns) in found.items():
        assert chosen in fns and len(fns) == 2, name
        first, second = (fn() for fn in fns.values())
        if first.is_floating_point():
            torch.testing.assert_close(first, second, rtol=1e-5, atol=1e-6, msg=name)
        else:
            assert torch.equal(first, second), name


def test_written_softplus_is_exact_far_into_both_tails(bench):
    x = torch.tensor([-100.0, -30.0, -1e-3, 0.0, 1e-3, 5.0, 30.0, 100.0], dtype=torch.float64)
    expected = torch.log1p(torch.exp(-x.abs())) + x.clamp(min=0)
    torch.testing.assert_close(bench._softplus(x), expected, rtol=1e-14, atol=0)


def test_run_reports_each_case_with_the_chosen_variant(bench):
    rows = bench.run(1, bench.TINY_SHAPES)
    assert len(rows) == 6
    for row in rows:
        assert row['chosen_s'] > 0 and row['other_s'] > 0
        assert row['speedup'] == pytest.approx(row['other_s'] / row['chosen_s'])
