"""cl_dense: dense contrastive learning for the OpenMMLab 2.x stack."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r"__version__ = '([^']+)'", (HERE / 'cl_dense' / 'version.py').read_text()).group(1)

setup(
    name='cl_dense',
    version=VERSION,
    description='Dense contrastive learning (pixel contrast, DetCo, ORE) as OpenMMLab plugin modules',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.11,<3.12',
    packages=find_packages(include=['cl_dense', 'cl_dense.*']),
    install_requires=[
        'torch==2.14.1',
        'torchvision==0.29.1',
        'mmengine==0.10.7',
        # mmcv 2.1.0 comes in two distributions that install the same `mmcv` package, so neither
        # is a hard requirement: tools/setup_env.sh installs mmcv-lite (default; the `lite` extra)
        # with cl_dense's torchvision-backed mmcv._ext, or builds mmcv with its compiled ops
        # (CL_DENSE_MMCV=full; no wheel exists for torch 2.14).
        'mmsegmentation==1.2.2',
        'mmdet==3.3.0',
        # SimCLR / SwAV / BYOL of configs/selfsup_zoo; its requirements pin neither torch nor mmcv
        # nor mmengine (only its 'mim' extra names ranges, which our pins satisfy).
        'mmpretrain==1.2.0',
        'pycocotools',
        # mmseg imports these at import time but does not declare them.
        'ftfy',
        'regex',
        # mmengine resolves `mmseg::` config bases through pkg_resources.
        'setuptools<80',
        'numpy',
        'scipy',
        'matplotlib',
        'scikit-learn',
        'tensorboard',
    ],
    extras_require={'tests': ['pytest', 'pytest-timeout'], 'lite': ['mmcv-lite==2.1.0']},
    include_package_data=True,
    zip_safe=False,
)
