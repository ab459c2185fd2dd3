"""Where `kilnctl devices` and `kilnctl read` get a device's readings: from the device
itself once this process holds its claim (kilnctl.claims), else from the `kilnctl serve`
that holds it, over the service socket. A device another process drives is reported as
held by it, never as "disconnected": a second master on its line would garble the frames.

Each device held by the service is read through it, whatever happened to the reads before:
a read that gets no reply in time loses the connection (its reply may still come), and the
next device's read opens a new one. Never does a failed read make this process open a
device the service holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.errors import ConfigError, DeviceError
from drivers.protocols import DeviceHealth, RectifierReading, TemperatureReading
from drivers.registry import open_device
from kilnctl.claims import ClaimError, ClaimRefused, DeviceClaims, Holder
from kilnctl.plant import DeviceConfig
from kilnctl.service.client import RequestFailed, ServiceClient, ServiceUnavailable
from kilnctl.service.device_read import reading_from_reply

Reading = TemperatureReading | RectifierReading

READ_TIMEOUT_S = 10.0
"""How long a read through the service may take (the service retries a silent device for
about a second; more is a service that does not answer)."""
CONNECT_TIMEOUT_S = 2.0


class Held(Exception):
    """Another process holds the device and cannot read it for us; str() names it."""


class ServiceReadError(DeviceError):
    kind = "read through the service failed"


class SourceError(Exception):
    """The device cannot be opened or its claim taken (bad URL, claims directory)."""


@dataclass
class ServiceLink:
    """The connection to one service, shared by the devices it holds; made again when a
    read lost it."""

    socket: str
    client: ServiceClient | None = None

    async def connected(self) -> ServiceClient:
        """The open connection (a new one if the last was lost); ServiceUnavailable."""
        if self.client is None or not self.client.connected:
            self.client = await ServiceClient.connect(self.socket, timeout_s=CONNECT_TIMEOUT_S)
        return self.client

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None


@dataclass
class Source:
    """One device's readings, from the device or from the service holding it."""

    name: str
    device: Any = None
    """The driver, when this process holds the claim."""
    service: ServiceLink | None = None
    """The service holding the device, when another process holds the claim."""
    holder: Holder | None = None
    claims: DeviceClaims | None = None

    @property
    def via(self) -> str:
        """ "" when read directly, else " (via kilnctl serve, pid N)"."""
        if self.holder is None:
            return ""
        return f" (via {self.holder.command}, pid {self.holder.pid})"

    async def read(self) -> tuple[Reading, DeviceHealth | None]:
        """One reading and the device's health; DeviceError when it does not answer."""
        if self.service is not None:
            try:
                client = await self.service.connected()
                reply = await client.request("read", timeout_s=READ_TIMEOUT_S, device=self.name)
            except (RequestFailed, ServiceUnavailable) as exc:
                raise ServiceReadError(self.name, self.via.strip(" ()"), str(exc)) from None
            return reading_from_reply(reply)
        return await self.device.read(), getattr(self.device, "health", None)

    async def close(self) -> None:
        """Close the device (and let its claim go); a service connection stays shared."""
        if self.device is not None:
            await self.device.close()
        if self.claims is not None:
            self.claims.release([self.name])


@dataclass
class Sources:
    """Opens sources for one command; one connection per service, closed at the end."""

    claims: DeviceClaims
    _services: dict[str, ServiceLink] = field(default_factory=dict)

    async def open(self, name: str, cfg: DeviceConfig) -> Source:
        """The device's source; Held when another process holds it and cannot be asked,
        SourceError for a bad config."""
        try:
            self.claims.take([name])
        except ClaimRefused as exc:
            return await self._via_holder(name, exc)
        except ClaimError as exc:
            raise SourceError(str(exc)) from None
        try:
            device = open_device(name, cfg.driver, cfg.url, **cfg.options)
        except ConfigError as exc:
            self.claims.release([name])
            raise SourceError(str(exc)) from None
        return Source(name, device=device, claims=self.claims)

    async def _via_holder(self, name: str, refused: ClaimRefused) -> Source:
        holder = refused.holder
        if holder is None or holder.socket is None:
            raise Held(str(refused)) from None
        if name not in holder.devices:
            raise Held(f"{refused}, whose plant has no device {name!r}") from None
        service = self._services.setdefault(holder.socket, ServiceLink(holder.socket))
        try:
            await service.connected()
        except ServiceUnavailable:
            raise Held(f"{refused}, which does not answer on {holder.socket}") from None
        return Source(name, service=service, holder=holder)

    async def close(self) -> None:
        for service in self._services.values():
            await service.close()
        self._services.clear()
        self.claims.release()
