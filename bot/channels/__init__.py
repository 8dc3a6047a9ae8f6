"""Ways to reach the assistant: the terminal chat (and, later, Telegram and the web chat)."""
