"""Generated image folders for the pretraining tests."""
from pathlib import Path

import numpy as np
from PIL import Image


def make_image_folder(root: Path, count: int = 8, side: int = 64, grey_every: int = 4) -> Path:
    """``count`` distinct images (random blobs and stripes on noise; every ``grey_every``-th one
    grey-scale, like EM slices) under ``root/{a,b}/`` as PNG and JPEG."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:side, :side]
    for i in range(count):
        freq = rng.uniform(0.1, 0.6, size=2)
        base = 127 + 100 * np.sin(freq[0] * xx + freq[1] * yy + i)
        colour = rng.uniform(0.3, 1.0, size=3)
        img = np.clip(base[..., None] * colour + rng.normal(0, 10, (side, side, 3)), 0, 255)
        img = img.astype(np.uint8)
        sub = root / ('a' if i % 2 else 'b')
        sub.mkdir(parents=True, exist_ok=True)
        if grey_every and i % grey_every == 0:
            Image.fromarray(img[..., 0], mode='L').save(sub / f'{i}.png')
        else:
            Image.fromarray(img).save(sub / f'{i}.jpg', quality=95)
    return root
