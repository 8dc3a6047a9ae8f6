"""Personal outcomes assistant: our package (storage, outcome extraction, dialogue logic, channels)."""
