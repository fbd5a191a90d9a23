"""Only the optional C part of the story core; everything else is in pyproject.toml.

`optional=True`: where no C compiler is at hand the build goes on without it and the
story stage runs its Python core, which gives the same labels (clusterer.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "newsbeam.transforms.story._native",
            sources=["transforms/story/_native.c"],
            optional=True,
        )
    ]
)
