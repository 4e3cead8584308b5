"""What the scheduler and the workers of one pipeline share in Redis, and how they change it.

Everything lives under ``databay:celery:{NAME}:`` (``NAME`` is the planner's ``name``; the
braces keep it in one Redis Cluster slot) of the broker's Redis database:

``leader``
    the leading scheduler's lock (redis-py's ``Lock``: a token with an expiry, renewed
    while it leads); the token names the host and process.
``slots`` (hash link -> due time)
    the last slot of each link the leader handled (sent or skipped): a new leader goes on
    from there, so no slot is scheduled twice and the grid survives a change of leader.
``sent`` (hash link -> due time)
    the last slot sent as a task; a worker drops an older task of the link (coalesced).
``inflight:LINK``
    the slot of the link's task that is queued or running (with an expiry, renewed while
    it runs): a slot falling due meanwhile is skipped, never queued behind it.
``lease:LINK``, ``fence:LINK``
    the lease of the worker running the link's transfer (``"TOKEN TASK HOLDER"``, with an
    expiry, renewed while it runs), and the counter its fencing tokens come from.
``skipped``, ``completed``, ``failed`` (hashes link -> count)
    what happened to the links' slots, for people and for tests.

Every change is one Lua script, so it is atomic.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from databay_celery.redis_url import client, shown

__all__ = ["ClusterSettings", "Coordinator", "Lease", "holder_name"]

SENT, SKIPPED, HANDLED, NOT_LEADING = 1, 0, -2, -1
"""What :meth:`Coordinator.dispatch` says of a slot: send its task; skipped (the link's
previous task is still queued or running); handled already (by another leader); and
this scheduler does not lead."""

HELD, COALESCED, RUNNING_HERE = 0, -1, -2
"""What :meth:`Coordinator.take` says instead of a fencing token: another transfer holds the
link's lease (the slot is skipped); a later slot was sent (this one is coalesced into it);
this very task holds it (it was given again while still running)."""


def holder_name() -> str:
    """This process, as locks and leases name their holder: ``host pid 1234``."""
    return f"{socket.gethostname()} pid {os.getpid()}"


@dataclass(frozen=True)
class ClusterSettings:
    """The settings the scheduler and the workers of a pipeline share (the planner's arguments).

    :param broker: the Redis URL of the broker (also where the cluster's state lives).
    :param name: the pipeline's name in Redis and its Celery queue (``databay.NAME``):
        pipelines sharing a Redis need names of their own.
    :param lease_seconds: how long a worker's lease on a link lasts unless renewed (it is
        renewed every third of it while the transfer runs).
    :param leader_seconds: how long the leading scheduler's lock lasts unless renewed; a
        standby takes over at most this long (plus ``poll_seconds``) after the leader died.
    :param visibility_timeout: seconds after which Redis gives a task that a worker took
        but never acknowledged (it died) to another worker. Longer than ``lease_seconds``,
        so that the lease of the dead worker has expired when its task comes again.
    :param inflight_seconds: how long a sent task blocks its link's next slots if no
        worker reports on it (it was lost with the broker); renewed while it runs.
    :param poll_seconds: how often a standby scheduler tries to become the leader.
    """

    broker: str
    name: str = "databay"
    lease_seconds: float = 30.0
    leader_seconds: float = 5.0
    visibility_timeout: float = 90.0
    inflight_seconds: float = 600.0
    poll_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "_-." for c in self.name):
            raise ValueError(f"name must be letters, digits, '_', '-' and '.', not {self.name!r}")
        for field in ("lease_seconds", "leader_seconds", "visibility_timeout", "inflight_seconds", "poll_seconds"):
            value = getattr(self, field)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf):
                raise ValueError(f"{field} must be a positive number of seconds, not {value!r}")
        if self.visibility_timeout <= self.lease_seconds:
            raise ValueError(f"visibility_timeout ({self.visibility_timeout:g}s) must be longer than lease_seconds "
                             f"({self.lease_seconds:g}s): a task given again after a worker died must find that "
                             f"worker's lease expired")
        if self.inflight_seconds < self.visibility_timeout:
            raise ValueError(f"inflight_seconds ({self.inflight_seconds:g}s) must be at least visibility_timeout "
                             f"({self.visibility_timeout:g}s): a link waits for the task of a worker that died")

    @property
    def prefix(self) -> str:
        return f"databay:celery:{{{self.name}}}:"

    @property
    def queue(self) -> str:
        return f"databay.{self.name}"

    @property
    def shown_broker(self) -> str:
        return shown(self.broker)


# Handles slots (ARGV: prefix, leader key, leader token, inflight ms, then link/slot pairs):
# returns one code per slot (see SENT, SKIPPED, HANDLED, NOT_LEADING).
_DISPATCH = """
local p = ARGV[1]
if redis.call('GET', ARGV[2]) ~= ARGV[3] then return {-1} end
local codes = {}
for i = 5, #ARGV, 2 do
  local link, slot = ARGV[i], ARGV[i + 1]
  local last = redis.call('HGET', p .. 'slots', link)
  if last and tonumber(last) >= tonumber(slot) then
    codes[#codes + 1] = -2
  else
    redis.call('HSET', p .. 'slots', link, slot)
    if redis.call('EXISTS', p .. 'inflight:' .. link) == 1 then
      redis.call('HINCRBY', p .. 'skipped', link, 1)
      codes[#codes + 1] = 0
    else
      redis.call('SET', p .. 'inflight:' .. link, slot, 'PX', ARGV[4])
      redis.call('HSET', p .. 'sent', link, slot)
      codes[#codes + 1] = 1
    end
  end
end
return codes
"""

# Takes the lease of a link for a task (ARGV: prefix, link, slot, task id, holder, lease ms):
# {fencing token, ''} when taken; {0, holder} when another transfer holds it (skipped);
# {-1, ''} when a later slot was sent (this task is coalesced into it); {-2, holder} when
# this very task holds it (it was given again while still running).
_TAKE = """
local p, link, slot = ARGV[1], ARGV[2], ARGV[3]
local sent = redis.call('HGET', p .. 'sent', link)
if sent and tonumber(sent) > tonumber(slot) then
  redis.call('HINCRBY', p .. 'skipped', link, 1)
  return {-1, ''}
end
local key = p .. 'lease:' .. link
local holder = redis.call('GET', key)
if holder then
  if string.find(holder, ' ' .. ARGV[4] .. ' ', 1, true) then return {-2, holder} end
  redis.call('HINCRBY', p .. 'skipped', link, 1)
  return {0, holder}
end
local token = redis.call('INCR', p .. 'fence:' .. link)
redis.call('SET', key, token .. ' ' .. ARGV[4] .. ' ' .. ARGV[5], 'PX', ARGV[6])
return {token, ''}
"""

# Renews a lease, and the link's in-flight mark (ARGV: prefix, link, lease, slot, lease ms, inflight ms).
_RENEW = """
local p, link = ARGV[1], ARGV[2]
if redis.call('GET', p .. 'lease:' .. link) ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', p .. 'lease:' .. link, ARGV[5])
if redis.call('GET', p .. 'inflight:' .. link) == ARGV[4] then
  redis.call('PEXPIRE', p .. 'inflight:' .. link, ARGV[6])
end
return 1
"""

# Ends a task (ARGV: prefix, link, lease ('' if none), slot, outcome hash ('' for none)):
# gives up the lease and the in-flight mark if they are still this task's; counts the outcome.
_FINISH = """
local p, link = ARGV[1], ARGV[2]
local kept = 1
if ARGV[3] ~= '' then
  if redis.call('GET', p .. 'lease:' .. link) == ARGV[3] then
    redis.call('DEL', p .. 'lease:' .. link)
  else
    kept = 0
  end
end
if redis.call('GET', p .. 'inflight:' .. link) == ARGV[4] then redis.call('DEL', p .. 'inflight:' .. link) end
if ARGV[5] ~= '' then redis.call('HINCRBY', p .. ARGV[5], link, 1) end
return kept
"""


@dataclass(frozen=True)
class Lease:
    """A worker's lease on a link: its fencing token and its value in Redis."""

    link: str
    token: int
    value: str
    slot: str


class Coordinator:
    """The scripts above, for one cluster (one pipeline's name in one Redis)."""

    def __init__(self, settings: ClusterSettings, redis_client: redis.Redis | None = None):
        self.settings = settings
        self.prefix = settings.prefix
        self.redis = redis_client or client(settings.broker, socket_timeout=10, socket_connect_timeout=10,
                                            health_check_interval=30)
        self._dispatch = self.redis.register_script(_DISPATCH)
        self._take = self.redis.register_script(_TAKE)
        self._renew = self.redis.register_script(_RENEW)
        self._finish = self.redis.register_script(_FINISH)

    @property
    def leader_key(self) -> str:
        return self.prefix + "leader"

    # -- the scheduler's side --------------------------------------------------------

    def last_slots(self) -> dict[str, float]:
        """``{link: the last slot handled}``."""
        return {_text(link): float(slot) for link, slot in self.redis.hgetall(self.prefix + "slots").items()}

    def dispatch(self, leader_token: str, slots: Sequence[tuple[str, str]]) -> list[int]:
        """Record ``(link, slot)`` pairs as handled, atomically, while leading: one code each."""
        args: list[Any] = [self.prefix, self.leader_key, leader_token, int(self.settings.inflight_seconds * 1000)]
        for link, slot in slots:
            args += [link, slot]
        codes = [int(code) for code in self._dispatch(args=args)]
        return [NOT_LEADING] * len(slots) if codes == [NOT_LEADING] else codes

    def counts(self, what: str, links: Iterable[str] | None = None) -> dict[str, int]:
        """``skipped``, ``completed`` or ``failed``, per link."""
        counted = {_text(link): int(n) for link, n in self.redis.hgetall(self.prefix + what).items()}
        return counted if links is None else {link: counted.get(link, 0) for link in links}

    # -- the workers' side -------------------------------------------------------------

    def take(self, link: str, slot: str, task_id: str) -> tuple[int, str]:
        """Take the link's lease for a task (the ``_TAKE`` script): ``(fencing token, '')``, or
        ``(code, holder)`` with code ``HELD``, ``COALESCED`` or ``RUNNING_HERE``."""
        token, holder = self._take(args=[self.prefix, link, slot, task_id, holder_name(),
                                         int(self.settings.lease_seconds * 1000)])
        return int(token), _text(holder)

    def lease_value(self, token: int, task_id: str) -> str:
        return f"{token} {task_id} {holder_name()}"

    def renew(self, lease: Lease) -> bool:
        """Renew ``lease``; ``False`` when it is no longer this worker's."""
        return bool(self._renew(args=[self.prefix, lease.link, lease.value, lease.slot,
                                      int(self.settings.lease_seconds * 1000),
                                      int(self.settings.inflight_seconds * 1000)]))

    def finish(self, link: str, slot: str, lease: Lease | None, outcome: str | None) -> bool:
        """End a task; whether the lease (if any) was still this worker's."""
        return bool(self._finish(args=[self.prefix, link, lease.value if lease else "", slot, outcome or ""]))


def _text(value: bytes | str) -> str:
    """What redis-py returned (bytes, unless it decodes responses), as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def new_token() -> str:
    """A leader token: the process and a random part."""
    return f"{holder_name()} {uuid.uuid4().hex[:12]}"
