"""Foundations shared by every layer: resources, ids, clocks, RecordIO, HTTP helpers."""
