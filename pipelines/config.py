"""Configuration objects for the pipelines (no argument lists past this point)."""

from __future__ import annotations

from dataclasses import dataclass, field

from newsbeam import PIPELINE_VERSION
from newsbeam.transforms.classify.config import ClassifyConfig
from newsbeam.transforms.clean.config import CleanConfig
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.io.files.limits import ReadLimits
from newsbeam.transforms.io.sink_specs import SinkSpec
from newsbeam.transforms.language.detector import LanguageConfig
from newsbeam.transforms.story.config import StoryConfig


@dataclass(frozen=True)
class PipelineConfig:
    """What the stage chain needs, shared by the batch and streaming jobs."""

    # Keep only these detected languages (None keeps all); others are counted.
    languages: frozenset[str] | None = None
    # Write only representatives; duplicates are counted in the run report.
    drop_duplicates: bool = False
    pipeline_version: str = PIPELINE_VERSION
    clean: CleanConfig = field(default_factory=CleanConfig)
    language: LanguageConfig = field(default_factory=LanguageConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    classify: ClassifyConfig = field(default_factory=ClassifyConfig)
    # None: the story stage does not run (--no-stories) and records carry no `story`.
    story: StoryConfig | None = field(default_factory=StoryConfig)


@dataclass(frozen=True)
class BatchRunConfig:
    """`newsbeam run`: files in, JSON Lines out."""

    inputs: tuple[str, ...]
    output_dir: str
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    # Sinks besides the JSON Lines files under output_dir (--sink).
    sinks: tuple[SinkSpec, ...] = ()
    # Extra Beam pipeline options, e.g. ("--runner=PortableRunner", ...).
    beam_args: tuple[str, ...] = ()
    # Caps on untrusted input (--max-file-bytes, --max-article-bytes).
    limits: ReadLimits = field(default_factory=ReadLimits)
    # Worker processes of the local runner (--workers); other runners size themselves.
    workers: int = 1
    # On the local runner: sketch pass, dedup in the driver, label pass
    # (pipelines/local_batch.py); False runs the one-graph job there too.
    two_passes: bool = True
