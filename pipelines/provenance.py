"""What a run was asked to do and with which versions: the run report's `options`
and `versions`, so a report says how to reproduce it."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata, resources
from typing import Any

from newsbeam.pipelines.config import BatchRunConfig, PipelineConfig


def run_options(config: BatchRunConfig) -> dict[str, Any]:
    pipeline = config.pipeline
    classify = pipeline.classify
    return {
        "languages": sorted(pipeline.languages) if pipeline.languages is not None else None,
        "drop_duplicates": pipeline.drop_duplicates,
        "classifier_model": classify.model_path,
        "classifier_languages": sorted(classify.languages)
        if classify.languages is not None
        else "all",
        # describe() hides database passwords.
        "sinks": [spec.describe() for spec in config.sinks],
        "beam_args": list(config.beam_args),
        "workers": config.workers,
    }


def run_versions(pipeline: PipelineConfig) -> dict[str, Any]:
    return {
        "pipeline": pipeline.pipeline_version,
        "apache_beam": _version("apache-beam"),
        "python": platform.python_version(),
        "topic_model": _model_identity(pipeline.classify.model_path),
        # What a stored MinHash sketch depends on (DedupConfig.fingerprint_version).
        "dedup_fingerprint": list(pipeline.dedup.fingerprint_version),
        "language_backend": _language_backend(),
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _model_identity(model_path: str | None) -> dict[str, Any]:
    """The model file and a hash of its bytes (the file format is deterministic)."""
    from newsbeam.transforms.classify.model import DEFAULT_MODEL_RESOURCE

    if model_path is None:
        resource = resources.files("newsbeam.transforms.classify").joinpath(DEFAULT_MODEL_RESOURCE)
        data, name = resource.read_bytes(), f"default ({DEFAULT_MODEL_RESOURCE})"
    else:
        try:
            with open(model_path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            return {"file": model_path, "sha256": None, "error": str(exc)}
        name = model_path
    return {"file": name, "sha256": hashlib.sha256(data).hexdigest()}


def _language_backend() -> str:
    return "langdetect-rs" if _version("langdetect-rs") else "langdetect"
