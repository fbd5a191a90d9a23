"""Only the optional C part of the story stage; everything else is in pyproject.toml.

`optional=True`: where no C compiler is at hand the build goes on without it and the
story stage runs the Python twins of its loops, with the same results
(transforms/story/kernels.py).
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
