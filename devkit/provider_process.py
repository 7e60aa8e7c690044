"""Drives the real dynamic-provider process (`python -m pulumi.dynamic`) over gRPC, as the engine does.

This is the layer where pickling and protocol mistakes show: the provider is serialized
exactly as a Pulumi program serializes it, and every call crosses a process boundary.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any

import grpc
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from zego_provider.provider import CdnTransferRuleSetProvider

TYPE = "pulumi-python:dynamic/zego:CdnTransferRuleSet"
PROVIDER_KEY = "__provider"


def serialized_provider() -> str:
    return str(serialize_provider(CdnTransferRuleSetProvider()))


def _struct(props: Mapping[str, Any]) -> Any:
    return asyncio.run(rpc.serialize_properties(dict(props), {}))


def _plain(struct: Any) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns=True))


class PluginProcess:
    """A provider plugin process as the engine starts one: it prints its gRPC port on stdout,
    and a stub to it. Its stderr is drained as it comes (a chatty plugin never blocks on a full
    pipe) by the one reader of the pipe: close() returns all of it, for secret checks."""

    def __init__(self, command: list[str], env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(env), text=True
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._stderr: list[str] = []
        self._drain = threading.Thread(target=self._stderr.extend, args=(self.process.stderr,), daemon=True)
        self._drain.start()
        port = int(self.process.stdout.readline().strip())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def close(self, timeout: float = 10.0) -> str:
        """Stop the process (waiting up to `timeout` s at each step); returns all it wrote on stderr."""
        self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)
        self._drain.join(timeout=timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return "".join(self._stderr)


class ProviderProcess(PluginProcess):
    """One `python -m pulumi.dynamic` process and a gRPC stub to it."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__([sys.executable, "-u", "-m", "pulumi.dynamic"], {**os.environ, **(env or {})})
        self.provider = serialized_provider()

    def urn(self, name: str) -> str:
        return f"urn:pulumi:test::zego::{TYPE}::{name}"

    def _with_provider(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {**props, PROVIDER_KEY: self.provider}

    def configure(self, config: Mapping[str, str]) -> None:
        self.stub.Configure(provider_pb2.ConfigureRequest(args=_struct(config), acceptSecrets=True), timeout=30)

    def check(
        self, name: str, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        reply = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=self.urn(name),
                olds=_struct(self._with_provider(olds or {})),
                news=_struct(self._with_provider(news)),
            ),
            timeout=60,
        )
        return _plain(reply.inputs), [(failure.property, failure.reason) for failure in reply.failures]

    def diff(self, name: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=self.urn(name),
                olds=_struct(self._with_provider(olds)),
                news=_struct(self._with_provider(news)),
            ),
            timeout=60,
        )

    def create(self, name: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        reply = self.stub.Create(
            provider_pb2.CreateRequest(urn=self.urn(name), properties=_struct(self._with_provider(props))), timeout=120
        )
        return reply.id, _plain(reply.properties)

    def update(self, name: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        reply = self.stub.Update(
            provider_pb2.UpdateRequest(
                id=id_,
                urn=self.urn(name),
                olds=_struct(self._with_provider(olds)),
                news=_struct(self._with_provider(news)),
            ),
            timeout=120,
        )
        return _plain(reply.properties)

    def delete(self, name: str, id_: str, props: Mapping[str, Any]) -> None:
        self.stub.Delete(
            provider_pb2.DeleteRequest(id=id_, urn=self.urn(name), properties=_struct(self._with_provider(props))),
            timeout=120,
        )

    def read(self, name: str, id_: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        reply = self.stub.Read(
            provider_pb2.ReadRequest(id=id_, urn=self.urn(name), properties=_struct(self._with_provider(props))),
            timeout=60,
        )
        return reply.id, _plain(reply.properties)
