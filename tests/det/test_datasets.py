"""The open-world dataset wrappers filter and map labels per task; the exemplar set is balanced."""
import json

import pytest

from cl_dense.det.datasets import (OpenWorldCocoDataset, OpenWorldTask, OpenWorldVOCDataset,
                                   build_exemplar_set)

CLASSES = ['cat', 'dog', 'car', 'bus']   # task order: T1 = cat, dog; T2 = car, bus
T1 = dict(classes=CLASSES, known=['cat', 'dog'], current=['cat', 'dog'])
T2 = dict(classes=CLASSES, known=CLASSES, current=['car', 'bus'])
# image id -> category names of its boxes
IMAGES = {1: ['cat', 'car'], 2: ['bus'], 3: ['dog', 'dog', 'bus'], 4: []}


def _coco_file(tmp_path):
    # the file lists its categories in another order (and with other ids) than the task
    categories = [dict(id=7, name='bus'), dict(id=3, name='cat'), dict(id=5, name='car'),
                  dict(id=9, name='dog')]
    ids = {c['name']: c['id'] for c in categories}
    images, anns = [], []
    for img_id, names in IMAGES.items():
        images.append(dict(id=img_id, file_name=f'{img_id}.jpg', width=100, height=80))
        for k, name in enumerate(names):
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=ids[name],
                             bbox=[10 * k, 5, 20, 30], area=600, iscrowd=0))
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=categories)))
    return path


def _voc_root(tmp_path):
    root = tmp_path / 'VOC2007'
    (root / 'Annotations').mkdir(parents=True)
    (root / 'ImageSets' / 'Main').mkdir(parents=True)
    for img_id, names in IMAGES.items():
        objects = ''.join(
            f'<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>{10 * k + 1}</xmin>'
            f'<ymin>6</ymin><xmax>{10 * k + 21}</xmax><ymax>36</ymax></bndbox></object>'
            for k, n in enumerate(names))
        (root / 'Annotations' / f'{img_id}.xml').write_text(
            f'<annotation><size><width>100</width><height>80</height></size>{objects}</annotation>')
    (root / 'ImageSets' / 'Main' / 'test.txt').write_text('\n'.join(map(str, IMAGES)))
    return root


def _build(kind, tmp_path, **kwargs):
    if kind == 'coco':
        return OpenWorldCocoDataset(ann_file=str(_coco_file(tmp_path)), data_prefix=dict(img=''),
                                    pipeline=[], **kwargs)
    root = _voc_root(tmp_path)
    return OpenWorldVOCDataset(data_root=str(tmp_path), ann_file='VOC2007/ImageSets/Main/test.txt',
                               data_prefix=dict(sub_data_root='VOC2007/'), pipeline=[], **kwargs)


def _labels(dataset):
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return {str(info['img_id']): sorted(i['bbox_label'] for i in info['instances']) for info in infos}


@pytest.mark.parametrize('kind', ['coco', 'voc'])
@pytest.mark.parametrize('task, labels, test_mode, expected', [
    # T1 training: only cat (0) and dog (1); images left empty are dropped
    (T1, 'current', False, {'1': [0], '3': [1, 1]}),
    # T1 evaluation: car and bus become unknown (4); every image kept
    (T1, 'open', True, {'1': [0, 4], '2': [4], '3': [1, 1, 4], '4': []}),
    # T2 training: car (2) and bus (3) only; cat and dog are absent from the labels
    (T2, 'current', False, {'1': [2], '2': [3], '3': [3]}),
    # T2 exemplar fine-tuning: every known class
    (T2, 'known', False, {'1': [0, 2], '2': [3], '3': [1, 1, 3]}),
    # T1 known-only (leakage-free fit): unknown objects dropped, not relabelled
    (T1, 'known', True, {'1': [0], '2': [], '3': [1, 1], '4': []}),
])
def test_labels_per_task_and_mode(tmp_path, kind, task, labels, test_mode, expected):
    dataset = _build(kind, tmp_path, task=task, labels=labels, test_mode=test_mode,
                     filter_cfg=dict(filter_empty_gt=True))
    assert dataset.metainfo['classes'] == ('cat', 'dog', 'car', 'bus', 'unknown')
    assert _labels(dataset) == expected


@pytest.mark.parametrize('kind', ['coco', 'voc'])
def test_source_labels_name_the_class_of_each_ground_truth(tmp_path, kind):
    dataset = _build(kind, tmp_path, task=T1, labels='open', test_mode=True)
    infos = {str(info['img_id']): info for info in (dataset.get_data_info(i)
                                                       for i in range(len(dataset)))}
    # image 3: dog, dog, bus -> labels 1, 1, 4 (unknown); classes 1, 1, 3 (bus)
    assert [i['bbox_label'] for i in infos['3']['instances']] == [1, 1, 4]
    assert infos['3']['source_labels'] == [1, 1, 3]
    assert infos['1']['source_labels'] == [0, 2] and infos['4']['source_labels'] == []


def test_image_ids_file_keeps_only_those_images(tmp_path):
    ids = tmp_path / 'exemplars.json'
    ids.write_text(json.dumps([3, 4]))
    dataset = _build('coco', tmp_path, task=T2, labels='known', image_ids_file=str(ids))
    assert _labels(dataset) == {'3': [1, 1, 3], '4': []}


def test_exemplars_option_keeps_a_balanced_set(tmp_path):
    dataset = _build('coco', tmp_path, task=T2, labels='known', exemplars=dict(items_per_class=1))
    labels = _labels(dataset)
    # every known class is in at least one kept image; image 4 (no object) is never needed
    assert {c for per_image in labels.values() for c in per_image} == {0, 1, 2, 3}
    assert '4' not in labels and len(labels) <= 3


@pytest.mark.parametrize('task, message', [
    (dict(classes=CLASSES, known=['dog'], current=['dog']), 'prefix'),
    (dict(classes=CLASSES, known=['cat'], current=['dog']), 'subset'),
    (dict(classes=CLASSES + ['unknown'], known=['cat'], current=['cat']), 'unknown'),
])
def test_bad_task_raises(task, message):
    with pytest.raises(ValueError, match=message):
        OpenWorldTask(**task)


def test_task_previous_and_bad_mode():
    task = OpenWorldTask(**T2)
    assert task.previous() == ('cat', 'dog') and task.unknown_index == 4
    with pytest.raises(ValueError, match='label mode'):
        task.map_label('cat', 'train')


def _infos(labels_per_image):
    return [dict(img_id=100 + i, instances=[dict(bbox_label=c) for c in labels])
            for i, labels in enumerate(labels_per_image)]


def test_exemplar_set_is_balanced_and_minimal():
    # class 2 is in 3 images (rarest: all taken, but only 2 needed), class 0 in 6, class 1 in 5
    data = _infos([[0], [0], [0, 1], [1], [1], [2, 0], [2], [2, 1], [0], [0, 1]])
    for seed in range(5):
        chosen = build_exemplar_set(data, [0, 1, 2], items_per_class=2, seed=seed)
        per_class = {c: sum(1 for i in data if i['img_id'] in chosen and
                            any(x['bbox_label'] == c for x in i['instances'])) for c in (0, 1, 2)}
        assert all(n >= 2 for n in per_class.values()), (seed, per_class)
        # greedy rarest-first: 2 images for class 2, then at most 2 more per other class
        assert 2 <= len(chosen) <= 6


def test_exemplar_set_with_single_class_images_has_exactly_items_per_class():
    data = _infos([[0]] * 5 + [[1]] * 3 + [[2]] * 4)
    for seed in range(3):
        chosen = build_exemplar_set(data, [0, 1, 2], items_per_class=2, seed=seed)
        labels = [data[i - 100]['instances'][0]['bbox_label'] for i in chosen]
        assert sorted(labels) == [0, 0, 1, 1, 2, 2]
    # a class not in the known list is never served
    assert len(build_exemplar_set(data, [1], items_per_class=3)) == 3


def test_exemplar_set_takes_all_images_of_a_rare_class_and_exact_count():
    data = _infos([[0], [0], [0], [1]])
    assert build_exemplar_set(data, [0, 1], items_per_class=2, seed=0) in (
        [100, 101, 103], [100, 102, 103], [101, 102, 103])
    assert build_exemplar_set(data, [0, 1], items_per_class=5) == [100, 101, 102, 103]
    with pytest.raises(ValueError, match='items_per_class'):
        build_exemplar_set(data, [0], items_per_class=0)
