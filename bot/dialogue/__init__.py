"""Conversation logic in plain, testable functions; the Rasa actions only call these."""
