"""Custom Rasa actions: thin wrappers that call the plain functions in ``bot``."""
