"""Stream claims: which streams, and which relays, the rule sets of the running deployment declare.

Why it exists: renaming a rule set (or moving it into or out of a component) without an alias
makes the engine create the resource under its new name, then delete the old one. Create of a
relay that already exists succeeds, so both are "done"; then the old one's Delete and Clear
would remove the very relays the new one declares. The provider cannot see the old and the
new resource side by side, but the engine's order gives it what it needs:

- within one `pulumi up` the dynamic provider is ONE process for the whole deployment;
- the engine calls `check` for every rule set the program registers (changed or not) while
  the program runs, and deletes the resources the program no longer declares only after the
  program has finished (a delete-before-replace comes after the new resource's `check` too);
- `pulumi destroy` (even with `--run-program`) and resources left out by `--target` are never
  checked: nothing is claimed, so everything they delete is torn down as before.

So `check` records (stream id -> declared URLs) here, and the delete of a resource whose stream
is still declared leaves alone what the other declares and skips the Clear (which would drop
the other's scheduled relays). Only `check` records: the engine checks every resource before it
creates or updates it, so nothing more is needed. A test harness that plays several
deployments in one provider process must give each deployment that deletes what an earlier
one checked a process of its own, as the engine does (tests/integration does so).

Limits (docs/guides/refactors.md, "Limits"): the claims live in one provider process, so rule sets
of another stack, or left out by `--target`, are not seen. Claims are per stream, not per
resource, so that a rename is seen; the native provider, which is told the URN, records who
declares each stream: to refuse a second rule set on a stream, to name the declaring rule set in
its diagnostics, and so that a rule set's later declaration replaces its earlier one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .identity import relay_identity


@dataclass(frozen=True)
class Claim:
    """What the rule sets of this deployment declare for one stream."""

    urls: frozenset[str]
    complete: bool = True
    """False when a declaration's URLs were not known yet (a preview): then it may declare anything."""
    owners: frozenset[str] = frozenset()
    """The URNs of the declaring rule sets, where the front-end knows them (the native provider)."""

    def declares(self, cdn_url: str) -> bool:
        """True when this exact URL (query included) is declared."""
        return not self.complete or cdn_url in self.urls

    def declared_url_of(self, cdn_url: str) -> str | None:
        """The declared URL that is the same ZEGO relay as `cdn_url` (its query may differ), if any."""
        identity = relay_identity(cdn_url)
        return next((url for url in sorted(self.urls) if relay_identity(url) == identity), None)


class StreamClaims:
    """A thread-safe registry of claims, one per provider process (the engine runs operations in parallel).

    A declaration with an `owner` (a URN) replaces that owner's earlier one, so a rule set checked
    twice declares only what it declares last; declarations without one (the dynamic provider,
    which is never told the URN) accumulate.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._declarations: dict[str, dict[str | None, frozenset[str] | None]] = {}

    def declare(self, stream_id: str, cdn_urls: Iterable[str] | None, *, owner: str | None = None) -> frozenset[str]:
        """Record that a rule set of this deployment declares `stream_id`; None = its URLs are not known yet.

        Returns the other owners that declared it before (atomically, for parallel checks).
        """
        with self._lock:
            declarations = self._declarations.setdefault(stream_id, {})
            others = frozenset(known for known in declarations if known is not None and known != owner)
            urls = None if cdn_urls is None else frozenset(cdn_urls)
            if owner is None and None in declarations:
                earlier = declarations[None]
                urls = None if earlier is None or urls is None else earlier | urls
            declarations[owner] = urls
            return others

    def claim(self, stream_id: str) -> Claim | None:
        """What this deployment declares for `stream_id`, or None when no rule set of it does."""
        with self._lock:
            declarations = self._declarations.get(stream_id)
            if declarations is None:
                return None
            known = [urls for urls in declarations.values() if urls is not None]
            return Claim(
                frozenset().union(*known),
                complete=len(known) == len(declarations),
                owners=frozenset(owner for owner in declarations if owner is not None),
            )


stream_claims = StreamClaims()
"""The process's registry: the provider process lives exactly as long as one deployment."""
