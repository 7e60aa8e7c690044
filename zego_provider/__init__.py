"""zego-pulumi-provider: ZEGOCLOUD CDN relay rules per live stream, managed by Pulumi."""

from typing import TYPE_CHECKING

from .client import ZegoClient
from .config import ProviderConfig
from .errors import (
    ZegoApiError,
    ZegoAuthenticationError,
    ZegoBudgetError,
    ZegoCallTimeBudgetError,
    ZegoConfigError,
    ZegoError,
    ZegoInvalidInputError,
    ZegoRateLimitError,
    ZegoServerError,
    ZegoTransportError,
    ZegoUnknownCodeError,
)
from .models import ZegoResponse
from .signing import ZegoSignatureAuth, sign

if TYPE_CHECKING:  # imported lazily at run time (see __getattr__), typed for checkers and IDEs
    from .resource import CdnTransferRuleSet, CdnTransferRuleSetArgs

__version__ = "0.2.0"

__all__ = [
    "CdnTransferRuleSet",
    "CdnTransferRuleSetArgs",
    "ProviderConfig",
    "ZegoApiError",
    "ZegoAuthenticationError",
    "ZegoBudgetError",
    "ZegoCallTimeBudgetError",
    "ZegoClient",
    "ZegoConfigError",
    "ZegoError",
    "ZegoInvalidInputError",
    "ZegoRateLimitError",
    "ZegoResponse",
    "ZegoServerError",
    "ZegoSignatureAuth",
    "ZegoTransportError",
    "ZegoUnknownCodeError",
    "__version__",
    "sign",
]


def __getattr__(name: str) -> object:
    """Import the Pulumi resource lazily: the client and `zego-cdn` need no Pulumi runtime."""
    if name in ("CdnTransferRuleSet", "CdnTransferRuleSetArgs"):
        from . import resource

        return getattr(resource, name)
    raise AttributeError(name)
