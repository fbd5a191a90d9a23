"""Stories: articles from different outlets that report the same news event."""

from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.transform import StoriesBatch, StoriesStream

__all__ = ["StoriesBatch", "StoriesStream", "StoryConfig"]
