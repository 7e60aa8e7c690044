"""`python -m zego_provider.emulator`: run the emulator until SIGTERM or Ctrl-C."""

from .cli import main

raise SystemExit(main())
