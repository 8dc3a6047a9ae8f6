"""Talking Points outcome framework and the extractor that hears outcomes in people's words."""
