"""Kafka: the article source, the record sink, message decoding and offsets."""
