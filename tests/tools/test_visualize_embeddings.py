"""visualize_embeddings.collect_embeddings: projection head or L2-normalised backbone features,
labels at the embedding's resolution; a CE-only model needs --features backbone."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from ..tool_loading import load_tool

tool = load_tool('analysis_tools/visualize_embeddings.py')


class _CEModel:
    """extract_feat gives 2 maps; stage 1 is 2x2 with known vectors; no contrast head."""

    def data_preprocessor(self, batch, training):
        return {'inputs': torch.zeros(1, 3, 4, 4), 'data_samples': batch['data_samples']}

    def extract_feat(self, inputs):
        stage1 = torch.tensor([[[3.0, 0.0], [0.0, 1.0]], [[4.0, 2.0], [0.0, 0.0]]])[None]
        return [torch.zeros(1, 1, 4, 4), stage1]


def _dataset():
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1],
                                                     [2, 2, 255, 255], [2, 2, 255, 255]]]))
    return [{'inputs': torch.zeros(3, 4, 4), 'data_samples': sample}]


def test_backbone_features_are_normalised_with_nearest_labels():
    emb, labels = tool.collect_embeddings(_CEModel(), _dataset(), 1, 'backbone', in_index=1)
    assert labels.tolist() == [0, 1, 2, 255]
    torch.testing.assert_close(emb[0], torch.tensor([0.6, 0.8]))
    torch.testing.assert_close(emb[1], torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(emb[2], torch.tensor([0.0, 0.0]))  # zero stays zero, no NaN
    torch.testing.assert_close(emb[3], torch.tensor([1.0, 0.0]))


def test_projection_features_of_a_model_without_contrast_head_name_the_fix():
    with pytest.raises(ValueError, match='--features backbone'):
        tool.collect_embeddings(_CEModel(), _dataset(), 1, 'projection')
