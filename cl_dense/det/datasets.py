"""Open-world task splits over mmdet's COCO and VOC datasets, and the exemplar set builder."""
from __future__ import annotations

import json
import random
from typing import Optional, Sequence

from mmdet.datasets import CocoDataset, VOCDataset
from mmdet.registry import DATASETS

UNKNOWN = 'unknown'
LABEL_MODES = ('current', 'known', 'open')


class OpenWorldTask:
    """One task of an incremental open-world protocol.

    Args:
        classes: every class of every task, in task order (T1's first); "unknown" is appended.
        known: the classes known after this task: a prefix of ``classes``.
        current: the classes of this task: a subset of ``known``.
    """

    def __init__(self, classes: Sequence[str], known: Sequence[str], current: Sequence[str]) -> None:
        self.classes = tuple(classes)
        self.known = tuple(known)
        self.current = tuple(current)
        if UNKNOWN in self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f'task classes must be distinct and must not contain {UNKNOWN!r}')
        if not self.known or self.classes[:len(self.known)] != self.known:
            raise ValueError(f'task known classes must be a non-empty prefix of the class list '
                             f'(task order), got {list(self.known)}')
        if not self.current or not set(self.current) <= set(self.known):
            raise ValueError(f'task current classes must be a non-empty subset of the known '
                             f'classes, got {list(self.current)}')

    @property
    def all_classes(self) -> tuple:
        """``classes + ('unknown',)``: the dataset's and the head's class list."""
        return self.classes + (UNKNOWN,)

    @property
    def unknown_index(self) -> int:
        return len(self.classes)

    def previous(self) -> tuple:
        """Known classes introduced by earlier tasks."""
        return tuple(c for c in self.known if c not in self.current)

    def map_label(self, name: str, mode: str) -> Optional[int]:
        """Label of an instance of class ``name`` under ``mode``, or ``None`` to drop it.

        ``'current'`` (task training): current classes only; ``'known'`` (exemplar fine-tuning,
        leakage-free Weibull fits): every known class; ``'open'`` (evaluation): known classes keep
        their label, every other class becomes "unknown".
        """
        if mode not in LABEL_MODES:
            raise ValueError(f'label mode must be one of {LABEL_MODES}, got {mode!r}')
        if name not in self.classes:
            raise ValueError(f'class {name!r} is not in the task class list')
        index = self.classes.index(name)
        if mode == 'current':
            return index if name in self.current else None
        if name in self.known:
            return index
        return self.unknown_index if mode == 'open' else None


class OpenWorldDatasetMixin:
    """Relabels a detection dataset for one open-world task (put it before the dataset class).

    The dataset's ``metainfo['classes']`` becomes ``task.classes + ('unknown',)``; each instance
    keeps, changes or loses its label according to ``labels`` (see
    :meth:`OpenWorldTask.map_label`). With ``filter_cfg=dict(filter_empty_gt=True)`` training
    images left without instances are dropped; ``image_ids_file`` (a JSON list of image ids, e.g.
    ORE's released exemplar lists) keeps only those images; ``exemplars=dict(items_per_class=20,
    seed=0)`` keeps a balanced exemplar set of the known classes (:func:`build_exemplar_set`,
    after the other filters).

    Args:
        task: ``dict(classes=[...], known=[...], current=[...])`` (:class:`OpenWorldTask`).
        labels: ``'current'``, ``'known'`` or ``'open'``.
        image_ids_file: optional JSON list of the image ids to keep.
        exemplars: optional ``dict(items_per_class, seed)``.
        *args, **kwargs: the dataset's arguments (``metainfo`` classes are set here).
    """

    def __init__(self, *args, task: dict, labels: str = 'current',
                 image_ids_file: Optional[str] = None, exemplars: Optional[dict] = None,
                 **kwargs) -> None:
        self.task = OpenWorldTask(**task)
        if labels not in LABEL_MODES:
            raise ValueError(f'labels must be one of {LABEL_MODES}, got {labels!r}')
        self.label_mode = labels
        self.image_ids_file = image_ids_file
        self.exemplars = exemplars
        metainfo = dict(kwargs.pop('metainfo', None) or {}, classes=self.task.all_classes)
        super().__init__(*args, metainfo=metainfo, **kwargs)

    def source_class_name(self, label: int) -> str:
        """Class name of a label as the base dataset assigned it."""
        raise NotImplementedError

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """The base dataset's info with the instances relabelled for the task, and
        ``source_labels``: the task-class index of each kept, not ignored instance (unknown ones
        included), for per-class unknown recall (pipelines pass it on when ``PackDetInputs``
        lists it in ``meta_keys``)."""
        info = super().parse_data_info(raw_data_info)
        instances, sources = [], []
        for instance in info['instances']:
            name = self.source_class_name(instance['bbox_label'])
            label = self.task.map_label(name, self.label_mode)
            if label is not None:
                instances.append(dict(instance, bbox_label=label))
                if not instance.get('ignore_flag', 0):
                    sources.append(self.task.classes.index(name))
        info['instances'] = instances
        info['source_labels'] = sources
        return info

    def filter_data(self) -> list:
        data_list = super().filter_data()
        if self.image_ids_file is not None:
            with open(self.image_ids_file) as f:
                keep = set(json.load(f))
            data_list = [info for info in data_list if info['img_id'] in keep]
        filter_empty = (self.filter_cfg or {}).get('filter_empty_gt', False)
        if filter_empty and not self.test_mode:
            data_list = [info for info in data_list if info['instances']]
        if self.exemplars is not None:
            keep = set(build_exemplar_set(data_list, range(len(self.task.known)), **self.exemplars))
            data_list = [info for info in data_list if info['img_id'] in keep]
        return data_list


@DATASETS.register_module()
class OpenWorldCocoDataset(OpenWorldDatasetMixin, CocoDataset):
    """mmdet's :class:`CocoDataset` relabelled for an open-world task
    (:class:`OpenWorldDatasetMixin`). Categories are matched by name, in any file order."""

    def source_class_name(self, label: int) -> str:
        return self.coco.cats[self.cat_ids[label]]['name']


@DATASETS.register_module()
class OpenWorldVOCDataset(OpenWorldDatasetMixin, VOCDataset):
    """mmdet's :class:`VOCDataset` relabelled for an open-world task
    (:class:`OpenWorldDatasetMixin`)."""

    def source_class_name(self, label: int) -> str:
        return self.metainfo['classes'][label]


def build_exemplar_set(data_list: Sequence[dict], class_indices: Sequence[int],
                       items_per_class: int, seed: int = 0) -> list:
    """A balanced exemplar set: image ids such that every class in ``class_indices`` appears in
    at least ``items_per_class`` of them (or in all its images when it has fewer).

    Classes are served rarest first; for each, images containing it are drawn in a seeded random
    order and added until the images already chosen (for any class) that contain it reach
    ``items_per_class``. Every chosen image was needed by some class when it was added.

    Args:
        data_list: mmdet data infos (``img_id``, ``instances`` with ``bbox_label``).
        class_indices: the known classes' labels.
        items_per_class: images per class (ORE: 20).
        seed: randomness of the draw order.

    Returns:
        The chosen image ids, sorted.
    """
    if items_per_class < 1:
        raise ValueError(f'items_per_class must be >= 1, got {items_per_class}')
    order = list(range(len(data_list)))
    random.Random(seed).shuffle(order)
    classes_of = [{inst['bbox_label'] for inst in data_list[i]['instances']} for i in range(len(data_list))]
    images_with = {c: [i for i in order if c in classes_of[i]] for c in class_indices}
    chosen: set = set()
    for c in sorted(class_indices, key=lambda c: (len(images_with[c]), c)):
        have = sum(1 for i in chosen if c in classes_of[i])
        for i in images_with[c]:
            if have >= items_per_class:
                break
            if i not in chosen:
                chosen.add(i)
                have += 1
    return sorted(data_list[i]['img_id'] for i in chosen)
