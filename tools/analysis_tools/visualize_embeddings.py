"""t-SNE plot of a trained model's pixel embeddings (projection head output), coloured by class.

    python tools/analysis_tools/visualize_embeddings.py CONFIG CHECKPOINT --out tsne.png
        [--features projection|backbone] [--in-index 3] [--num-pixels 2000] [--num-images 4]
        [--seed 0] [--cfg-options k=v ...]

Runs the model's contrast projection head (a ``ContrastEncoderDecoder``; ``--features
projection``, the default) or takes its backbone's feature map ``--in-index``, L2-normalised
(``--features backbone``: any segmentor, so a CE-only model can be compared with a contrast one) on
the first ``--num-images`` images of the config's val dataset, takes the ground-truth class of every
embedding cell (nearest-resized labels), samples up to ``--num-pixels`` cells spread evenly over the
classes (ignored pixels excluded), embeds them in 2-D with scikit-learn's TSNE and saves a scatter
plot. The title gives the cosine silhouette score of the sampled embeddings by class (-1..1, higher
= classes better separated in the embedding space itself, not only in the 2-D picture).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

import cl_dense  # noqa: F401  (safe checkpoint loading)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output PNG path')
    parser.add_argument('--features', choices=['projection', 'backbone'], default='projection',
                        help='projection head output, or the backbone feature map --in-index')
    parser.add_argument('--in-index', type=int, default=3, help='backbone output for --features backbone')
    parser.add_argument('--num-pixels', type=int, default=2000,
                        help='pixels in the plot (all classes together)')
    parser.add_argument('--num-images', type=int, default=4, help='val images to take pixels from')
    parser.add_argument('--seed', type=int, default=0, help='pixel sampling and t-SNE seed')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    return parser.parse_args(argv)


def sample_per_class(embeddings: Tensor, labels: Tensor, num_classes: int, num_pixels: int,
                     generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Sample up to ``num_pixels // num_classes`` embeddings of each class present.

    Args:
        embeddings: [P, D] pixel embeddings.
        labels: [P] class indices; values outside ``[0, num_classes)`` (ignore) are never taken.
        num_classes: number of classes C.
        num_pixels: total budget; each class gets an equal share.
        generator: source of randomness for the choice of pixels.

    Returns:
        ([M, D] embeddings, [M] labels) with M <= num_pixels.
    """
    per_class = max(num_pixels // num_classes, 1)
    keep = []
    for cls in range(num_classes):
        index = (labels == cls).nonzero(as_tuple=True)[0]
        if index.numel() > per_class:
            index = index[torch.randperm(index.numel(), generator=generator)[:per_class]]
        keep.append(index)
    chosen = torch.cat(keep)
    return embeddings[chosen], labels[chosen]


@torch.no_grad()
def collect_embeddings(model, dataset, num_images: int, features: str = 'projection',
                       in_index: int = 3) -> tuple[Tensor, Tensor]:
    """Projection-head embeddings (or L2-normalised backbone features ``in_index``) and their
    ground-truth labels for the first images of ``dataset``.

    Returns:
        ([P, D] float embeddings, [P] long labels at embedding resolution), all images together.
    """
    from mmengine.dataset import pseudo_collate
    from cl_dense.losses.pixel_inputs import labels_at

    if features == 'projection' and not hasattr(model, 'contrast_head'):
        raise ValueError(f'{type(model).__name__} has no contrast_head: use a '
                         'ContrastEncoderDecoder config, or --features backbone')
    embeddings, labels = [], []
    for index in range(min(num_images, len(dataset))):
        batch = model.data_preprocessor(pseudo_collate([dataset[index]]), training=False)
        feats = model.extract_feat(batch['inputs'])
        if features == 'projection':
            emb = model.contrast_head(feats)  # [1, D, h, w]
        else:
            emb = torch.nn.functional.normalize(feats[in_index], dim=1)  # [1, C, h, w]
        gt = batch['data_samples'][0].gt_sem_seg.data.to(emb.device)  # [1, H, W]
        lab = labels_at(gt, tuple(emb.shape[2:]))  # [1, h, w]
        embeddings.append(emb[0].flatten(1).t().float())
        labels.append(lab.flatten())
    return torch.cat(embeddings), torch.cat(labels)


def plot_tsne(points: np.ndarray, labels: np.ndarray, classes: Sequence[str],
              palette: Sequence[Sequence[int]], out: str, title: str) -> None:
    """Scatter [M, 2] points coloured by class with a legend; saves a PNG to ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    for cls, name in enumerate(classes):
        mask = labels == cls
        if mask.any():
            colour = np.asarray(palette[cls], dtype=float) / 255.0
            ax.scatter(points[mask, 0], points[mask, 1], s=4, color=colour,
                       label=f'{name} ({mask.sum()})')
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=3, fontsize=8, loc='best')
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmengine.registry import DATASETS, MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    from sklearn.manifold import TSNE
    from cl_dense.engine.launch import import_toolbox_plugins, load_config

    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(import_toolbox_plugins(cfg))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.eval()
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    embeddings, labels = collect_embeddings(model, dataset, args.num_images, args.features,
                                            args.in_index)
    classes = dataset.metainfo['classes']
    generator = torch.Generator().manual_seed(args.seed)
    emb, lab = sample_per_class(embeddings, labels, len(classes), args.num_pixels, generator)
    if emb.shape[0] < 3:
        raise ValueError(f'only {emb.shape[0]} labelled pixels in {args.num_images} val images')
    from sklearn.metrics import silhouette_score
    silhouette = float(silhouette_score(emb.cpu().numpy(), lab.cpu().numpy(), metric='cosine'))
    points = TSNE(n_components=2, init='pca', perplexity=min(30.0, emb.shape[0] - 1.0),
                  random_state=args.seed).fit_transform(emb.cpu().numpy())
    plot_tsne(points, lab.cpu().numpy(), classes, dataset.metainfo['palette'], args.out,
              f'{Path(args.config).stem}\n{args.features} features, {emb.shape[0]} pixels from '
              f'{args.num_images} val images, cosine silhouette {silhouette:.3f}')
    print(f'wrote {args.out}; cosine silhouette by class {silhouette:.4f}')


if __name__ == '__main__':
    main()
