"""``python -m bot``: the command-line interface (see ``bot.cli``)."""

from bot.cli import main

raise SystemExit(main())
