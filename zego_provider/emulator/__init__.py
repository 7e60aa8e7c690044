"""A local stand-in for ZEGO's CDN relay API: signed requests, rules, limits and injected faults.

Start one in process with `ZegoEmulator(app_id=..., server_secret=...)` (a context
manager with `.url`, `.state`, `.faults` and `.admin`), or as a process with
`python -m zego_provider.emulator --app-id N --server-secret S --port 0`.
"""

from .admin import EmulatorAdmin, EmulatorAdminError
from .faults import FaultBook, FaultSpec
from .runner import ZegoEmulator
from .state import EmulatorState
from .statefile import StateFileError, StateWriteError

__all__ = [
    "EmulatorAdmin",
    "EmulatorAdminError",
    "EmulatorState",
    "FaultBook",
    "FaultSpec",
    "StateFileError",
    "StateWriteError",
    "ZegoEmulator",
]
