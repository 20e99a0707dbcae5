# The OWOD task splits of ORE (Joseph et al., CVPR 2021) on VOC + COCO, in task order.
# T1: the 20 VOC classes (VOC names, as in ORE's VOC-format release of the splits);
# T2: outdoor, accessories, appliance, truck; T3: sports, food; T4: electronic, indoor, kitchen,
# furniture (COCO names). Tasks: dict(classes, known, current) for cl_dense.det datasets/metrics.
T1 = ['aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
      'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
      'tvmonitor']
T2 = ['truck', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'elephant',
      'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'microwave',
      'oven', 'toaster', 'sink', 'refrigerator']
T3 = ['frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
      'skateboard', 'surfboard', 'tennis racket', 'banana', 'apple', 'sandwich', 'orange',
      'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake']
T4 = ['laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'book', 'clock', 'vase', 'scissors',
      'teddy bear', 'hair drier', 'toothbrush', 'wine glass', 'cup', 'fork', 'knife', 'spoon',
      'bowl', 'bed', 'toilet']
OWOD_CLASSES = T1 + T2 + T3 + T4
owod_tasks = dict(
    t1=dict(classes=OWOD_CLASSES, known=T1, current=T1),
    t2=dict(classes=OWOD_CLASSES, known=T1 + T2, current=T2),
    t3=dict(classes=OWOD_CLASSES, known=T1 + T2 + T3, current=T3),
    t4=dict(classes=OWOD_CLASSES, known=T1 + T2 + T3 + T4, current=T4))
