"""plot_curves.py on hand-written scalars.json files: the curves drawn, axes, clear errors."""
import json

import pytest

from ..tool_loading import load_tool

plot_curves = load_tool('analysis_tools/plot_curves.py')


def _write_run(root, name, records):
    folder = root / name / '20261207_000000' / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in records) + '\n')
    return root / name


def _runs(tmp_path):
    a = _write_run(tmp_path, 'ce', [{'loss': 2.0, 'step': 10}, {'loss': 1.0, 'step': 20},
                                    {'mIoU': 30.0, 'aAcc': 80.0, 'step': 20}])
    b = _write_run(tmp_path, 'contrast', [{'loss': 3.0, 'step': 10}, {'loss': 1.5, 'step': 20},
                                          {'mIoU': 35.0, 'step': 20}])
    return a, b


def test_read_curves_keeps_steps_and_values_per_key(tmp_path):
    a, _ = _runs(tmp_path)
    curves = plot_curves.read_curves(plot_curves.find_scalars(a), ['loss', 'mIoU'])
    assert curves == {'loss': ([10.0, 20.0], [2.0, 1.0]), 'mIoU': ([20.0], [30.0])}


def test_plot_draws_one_panel_per_key_and_one_line_per_run(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    captured = {}
    savefig = plt.Figure.savefig

    def spy(fig, *args, **kwargs):
        captured['fig'] = fig
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, 'savefig', spy)
    a, b = _runs(tmp_path)
    out = plot_curves.plot([str(a), str(b)], ['mIoU', 'loss'], str(tmp_path / 'c.png'),
                           labels=['CE', 'CE+contrast'])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    axes = captured['fig'].axes
    assert [ax.get_title() for ax in axes] == ['mIoU', 'loss']
    assert all(ax.get_xlabel() == 'iteration' for ax in axes)
    lines = axes[1].get_lines()
    assert [line.get_label() for line in lines] == ['CE', 'CE+contrast']
    assert list(lines[1].get_xdata()) == [10.0, 20.0] and list(lines[1].get_ydata()) == [3.0, 1.5]
    assert list(axes[0].get_lines()[0].get_ydata()) == [30.0]


def test_missing_key_names_the_run_and_the_logged_keys(tmp_path):
    a, _ = _runs(tmp_path)
    with pytest.raises(KeyError, match=r"no \['mDice'\] logged; logged keys: \['aAcc', 'loss', 'mIoU'\]"):
        plot_curves.read_curves(plot_curves.find_scalars(a), ['mIoU', 'mDice'])


def test_missing_scalars_and_label_count_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match='no vis_data/scalars.json'):
        plot_curves.find_scalars(tmp_path)
    a, b = _runs(tmp_path)
    with pytest.raises(ValueError, match='1 labels for 2 runs'):
        plot_curves.plot([str(a), str(b)], ['loss'], str(tmp_path / 'x.png'), labels=['one'])
