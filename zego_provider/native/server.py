"""Serves the native provider over gRPC, as a Pulumi plugin: prints its port, then answers the engine.

The SDK's servicer turns any exception into `message:\n<stack>`; a ZEGO error (or a settings or
state problem the user can fix) must instead reach the progress view as one line with the code,
meaning, fix and RequestId. So each operation of the SDK's servicer is wrapped to answer such an
error with a one-line gRPC status; any other exception (a bug) keeps the SDK's stack trace.
DiffConfig is served here whole: the SDK's encodes its answer wrong (see `_diff_config`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import DiffRequest
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime import proto
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2_grpc

from .. import __version__
from ..errors import ZegoError
from ..lifecycle import one_line
from .provider import ZegoProvider

OPERATIONS = (
    "GetSchema",
    "CheckConfig",
    "DiffConfig",
    "Configure",
    "Check",
    "Diff",
    "Create",
    "Update",
    "Delete",
    "Read",
)

Handler = Callable[[Any, Any, Any], Awaitable[Any]]


def user_error_in(error: BaseException) -> ZegoError | None:
    """The ZegoError an exception is, or was raised while handling (the SDK re-raises a new one)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ZegoError):
            return current
        pending += [current.__cause__, current.__context__]
    return None


def _answer_in_one_line(name: str) -> Handler:
    handler: Handler = getattr(ProviderServicer, name)

    async def operation(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await handler(self, request, context)
        except Exception as error:
            found = user_error_in(error)
            if found is None:
                raise
            await context.abort(grpc.StatusCode.UNKNOWN, one_line(found))

    operation.__name__ = name
    operation.__doc__ = f"The SDK's {name}, with a user error answered as one line."
    return operation


async def _diff_config(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    """DiffConfig, encoded right: the SDK's (3.272) puts the `changes` bool into the DiffChanges enum,
    where True reads as DIFF_NONE, so that a changed AppId would never replace the provider."""
    try:
        response = await self._provider.diff_config(
            DiffRequest(
                request.urn,
                request.id,
                PropertyValue.unmarshal_map(request.olds),
                PropertyValue.unmarshal_map(request.news),
                list(request.ignoreChanges),
            )
        )
    except ZegoError as error:
        await context.abort(grpc.StatusCode.UNKNOWN, one_line(error))
    changes = {None: proto.DiffResponse.DIFF_UNKNOWN, False: proto.DiffResponse.DIFF_NONE}.get(
        response.changes, proto.DiffResponse.DIFF_SOME
    )
    return proto.DiffResponse(
        changes=changes,
        replaces=response.replaces,
        stables=response.stables,
        diffs=response.diffs,
        deleteBeforeReplace=response.delete_before_replace,
    )


ZegoServicer: type[ProviderServicer] = type(
    "ZegoServicer",
    (ProviderServicer,),
    {**{name: _answer_in_one_line(name) for name in OPERATIONS}, "DiffConfig": _diff_config},
)


def main(argv: list[str] | None = None) -> None:
    """`pulumi-resource-zego ENGINE_ADDRESS [flags]`: what the engine runs; prints the port it serves on."""
    args = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="pulumi-resource-zego", description="The zego Pulumi provider plugin")
    parser.add_argument("engine", help="the Pulumi engine's address")
    known, _ = parser.parse_known_args(args)  # the engine may add flags (--logtostderr, -v=N, --tracing)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    async def serve() -> None:
        server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
        servicer = ZegoServicer(args, __version__, ZegoProvider(), engine_address=known.engine)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port = server.add_insecure_port(address="127.0.0.1:0")
        await server.start()
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        await server.wait_for_termination()

    with contextlib.suppress(KeyboardInterrupt):  # the engine stops plugins with a signal
        asyncio.run(serve())
