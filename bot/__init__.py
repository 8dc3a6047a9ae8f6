"""Personal outcomes assistant: storage, outcome extraction, dialogue logic and channels."""
