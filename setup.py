"""The compiled part of lakeshop: the binary log's row-image decoder (everything else is in
pyproject.toml). It needs a C compiler and Python's headers; without them the install still
succeeds (``optional=True``) and the stream decodes row images in Python instead."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ingestion.mysql_cdc._rowimage",
            sources=["ingestion/mysql_cdc/_rowimage.c"],
            extra_compile_args=["-O2", "-std=gnu11"],
            optional=True,
        )
    ]
)
