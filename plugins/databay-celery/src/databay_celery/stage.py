"""``RedisStage``: a link's stage in Redis, so that any worker of a cluster can continue the link.

The stage's data lives under the keys ``databay:stage:{KEY}:*`` of one Redis database
(``KEY`` is the stage's ``key`` argument; the braces keep every key of a stage in one
Redis Cluster slot):

``:info`` (hash)
    ``uid``, ``schema``, ``created``, ``next`` (the last batch number), ``writer`` (which
    stage object committed last, for :meth:`RedisStage.claim`) and ``fence:NAME`` (the
    highest fencing token seen from the holder of lease ``NAME``).
``:b:N`` (hash)
    batch N: ``created`` (its commit time in whole microseconds since the epoch, growing with
    N: what ``Stage.BATCH_TIME`` stamps), ``transfer`` (``Stage.BATCH_UPDATE``), ``size``,
    ``codec``, ``records`` (the bytes :func:`databay.stage.encode_records` made),
    ``delivered`` (when kept for the retention).
``:p:OUTLET``, ``:d:OUTLET`` (sorted sets)
    the batches OUTLET still owes (pending) and gave up on (dead), scored by number;
    ``:e:OUTLET`` (hash) the failure of each: attempts, time, error, traceback (redacted).
``:owe:N`` (set)
    the outlets that still owe batch N; when it empties the batch is deleted, or kept in
    ``:delivered`` (sorted by time) for the retention.
``:outlets`` (set), ``:states`` (hash inlet -> JSON), ``:intake`` (list of encoded records)
``:hold``
    the exclusive hold of a running link (a token with an expiry, renewed while open).

Every change is one Lua script, so it is atomic: a commit writes the batches, the
deliveries and the inlets' positions all or nothing, as the stage interface demands.

**Fencing.** A worker of databay-celery runs a link's transfer only while it holds the
link's lease in Redis, and gives the stage the lease's fencing token (:meth:`fence`).
Every write then carries the token, and the stage refuses a token lower than one it has
seen: a worker that lost its lease (it stalled past the expiry, another took over) can no
longer commit, acknowledge or dead-letter anything. While fenced, the lease is the
link's hold on the stage, so ``open(exclusive=True)`` takes no hold of its own.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from databay import Record
from databay.errors import StageError, UndecodableBatchError
from databay.redaction import redact
from databay.stage import DeadLetter, OutletBacklog, Stage, StagedBatch, decode_records, encode_records

from databay_celery.redis_url import client, shown

__all__ = ["RedisStage", "StageFencedError"]

SCHEMA = "1"
CODEC = "pickle5-tagged"  # what databay.stage.encode_records writes
HOLD_SECONDS = 15.0

_PENDING, _DEAD, _DELIVERED = "pending", "dead", "delivered"

# Every script's ARGV starts with: the key prefix, the fencing lease's name and token ('' when
# unfenced), the writing object, the retention in seconds ('' for none) and the time now.
_PREFIX = """
local p = ARGV[1]
local info = p .. ':info'
"""

# Refuses a fencing token lower than one seen (or none, while fenced).
_FENCE = _PREFIX + """
if ARGV[2] ~= '' then
  if ARGV[3] == '' then return redis.error_reply('FENCED no lease') end
  local token = tonumber(ARGV[3])
  local seen = tonumber(redis.call('HGET', info, 'fence:' .. ARGV[2]) or '0')
  if token < seen then return redis.error_reply('FENCED ' .. seen) end
  if token > seen then redis.call('HSET', info, 'fence:' .. ARGV[2], token) end
end
"""

# A batch nobody owes any more: kept for the retention (ARGV[5] seconds, '' for none) or deleted.
_SETTLE = """
local function settle(n, now)
  if redis.call('SCARD', p .. ':owe:' .. n) > 0 then return end
  if ARGV[5] ~= '' then
    redis.call('HSET', p .. ':b:' .. n, 'delivered', now)
    redis.call('ZADD', p .. ':delivered', now, n)
  else
    redis.call('DEL', p .. ':b:' .. n)
  end
end
local function expire(now)
  if ARGV[5] == '' then return end
  local old = redis.call('ZRANGEBYSCORE', p .. ':delivered', '-inf', now - tonumber(ARGV[5]))
  for _, n in ipairs(old) do
    redis.call('DEL', p .. ':b:' .. n)
    redis.call('ZREM', p .. ':delivered', n)
  end
end
"""

# ARGV: (common), transfer, clear intake ('1'/''), intake ('' for none), outlet count, outlets...,
# state count, (inlet, JSON)..., batch count, (size, data)...
_COMMIT = _FENCE + _SETTLE + """
local now = tonumber(ARGV[6])
local i = 10
local outlets = {}
for k = 1, tonumber(ARGV[i]) do outlets[k] = ARGV[i + k] end
i = i + #outlets + 1
local nstates = tonumber(ARGV[i])
for k = 0, nstates - 1 do
  redis.call('HSET', p .. ':states', ARGV[i + 1 + 2 * k], ARGV[i + 2 + 2 * k])
end
i = i + 2 * nstates + 1
local ids, times = {}, {}
-- Batch times in whole microseconds, growing with batch numbers even if clocks go back.
local last = tonumber(redis.call('HGET', info, 'newest_us') or '0')
local first = math.max(math.floor(tonumber(ARGV[6]) * 1000000), last + 1)
for k = 0, tonumber(ARGV[i]) - 1 do
  local n = redis.call('HINCRBY', p .. ':info', 'next', 1)
  local at = string.format('%d', first + k)
  redis.call('HSET', p .. ':b:' .. n, 'created', at, 'transfer', ARGV[7], 'size', ARGV[i + 1 + 2 * k],
             'codec', 'pickle5-tagged', 'records', ARGV[i + 2 + 2 * k])
  redis.call('HSET', info, 'newest_us', at)
  times[#times + 1] = at
  for _, outlet in ipairs(outlets) do
    redis.call('ZADD', p .. ':p:' .. outlet, n, n)
    redis.call('SADD', p .. ':owe:' .. n, outlet)
    redis.call('SADD', p .. ':outlets', outlet)
  end
  if #outlets == 0 then settle(n, now) end
  ids[#ids + 1] = n
end
if ARGV[8] == '1' then redis.call('DEL', p .. ':intake') end
if ARGV[9] ~= '' then redis.call('RPUSH', p .. ':intake', ARGV[9]) end
redis.call('HSET', p .. ':info', 'writer', ARGV[4])
expire(now)
return {ids, times}
"""

# ARGV: (common), outlet, batches...
_ACK = _FENCE + _SETTLE + """
local now = tonumber(ARGV[6])
local outlet = ARGV[7]
for k = 8, #ARGV do
  local n = ARGV[k]
  redis.call('ZREM', p .. ':p:' .. outlet, n)
  redis.call('ZREM', p .. ':d:' .. outlet, n)
  redis.call('HDEL', p .. ':e:' .. outlet, n)
  redis.call('SREM', p .. ':owe:' .. n, outlet)
  settle(n, now)
end
return #ARGV - 7
"""

# ARGV: (common), outlet, failure JSON, batches...
# Returns the size of each batch that was owed by the outlet (others are skipped: 0).
_DEAD_LETTER = _FENCE + """
local outlet = ARGV[7]
local sizes = {}
for k = 9, #ARGV do
  local n = ARGV[k]
  if redis.call('SISMEMBER', p .. ':owe:' .. n, outlet) == 1 then
    redis.call('ZREM', p .. ':p:' .. outlet, n)
    redis.call('ZADD', p .. ':d:' .. outlet, n, n)
    local before = redis.call('HGET', p .. ':e:' .. outlet, n)
    local failure = cjson.decode(ARGV[8])
    if before then failure['attempts'] = failure['attempts'] + cjson.decode(before)['attempts'] end
    redis.call('HSET', p .. ':e:' .. outlet, n, cjson.encode(failure))
    sizes[#sizes + 1] = tonumber(redis.call('HGET', p .. ':b:' .. n, 'size') or '0')
  else
    sizes[#sizes + 1] = -1
  end
end
return sizes
"""

# ARGV: (common). Returns 1 when another object committed since this one last did or claimed.
_CLAIM = _FENCE + """
local writer = redis.call('HGET', info, 'writer')
redis.call('HSET', info, 'writer', ARGV[4])
if writer and writer ~= ARGV[4] then return 1 end
return 0
"""

_EXPIRE = _PREFIX + _SETTLE + """
expire(tonumber(ARGV[6]))
return 0
"""

# ARGV: (common), mode ('replay', 'purge', 'forget'), outlet ('' for all)
_OPERATE = _PREFIX + _SETTLE + """
local now = tonumber(ARGV[6])
local mode, wanted = ARGV[7], ARGV[8]
local count = 0
for _, outlet in ipairs(redis.call('SMEMBERS', p .. ':outlets')) do
  if wanted == '' or wanted == outlet then
    local kinds = {':d:'}
    if mode == 'forget' then kinds = {':d:', ':p:'} end
    for _, kind in ipairs(kinds) do
      for _, n in ipairs(redis.call('ZRANGE', p .. kind .. outlet, 0, -1)) do
        count = count + 1
        redis.call('ZREM', p .. kind .. outlet, n)
        if mode == 'replay' then
          redis.call('ZADD', p .. ':p:' .. outlet, n, n)
        else
          redis.call('HDEL', p .. ':e:' .. outlet, n)
          redis.call('SREM', p .. ':owe:' .. n, outlet)
          if redis.call('SCARD', p .. ':owe:' .. n) == 0 then redis.call('DEL', p .. ':b:' .. n) end
        end
      end
    end
  end
end
return count
"""

# Renew or release the exclusive hold only if it is still ours: KEYS[1] hold, ARGV[1] token, ARGV[2] ms.
_RENEW_HOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE_HOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class StageFencedError(StageError):
    """A write carried a fencing token lower than one the stage has seen (or none while
    fenced): the worker lost the link's lease to another, and must not change the stage."""


class RedisStage(Stage):
    """A link's stage in Redis (registered as ``redis``): batches, per-outlet
    acknowledgements, dead letters, retention, the intake and the inlets' positions.

    :param url: the Redis server, ``redis://[:password@]host:port/db`` (or ``rediss://``,
        ``unix://``); give it as ``${VAR}`` in a pipeline: it is a secret.
    :param key: the stage's name in that database: one per link (a fill link and a drain
        link share theirs). Letters, digits, ``_``, ``-``, ``.`` and ``:``.
    :param retention: keep delivered batches this long (seconds or a ``timedelta``).
    :param timeout: seconds a Redis command may take before it fails.
    """

    def __init__(self, url: str, key: str, retention: Any = None, timeout: float = 10.0):
        if not key or not all(c.isalnum() or c in "_-.:" for c in key):
            raise ValueError(f"a Redis stage key is letters, digits, '_', '-', '.' and ':', not {key!r}")
        self.url, self.key, self.timeout = url, key, timeout
        self.retention = retention
        self.uid = ""
        self._prefix = f"databay:stage:{{{key}}}"
        self._redis: redis.Redis | None = None
        self._open = False
        self._writer = secrets.token_hex(8)  # this object, as the `writer` of its commits
        self._fence_name = ""
        self._fence_token: int | None = None
        self._hold_token: str | None = None
        self._hold_stop: threading.Event | None = None
        self._changed_version: int | None = None
        self._lock = threading.RLock()
        self._scripts: dict[str, Any] = {}

    @property
    def location(self) -> str:
        return f"{shown(self.url)} {self.key}"

    def __repr__(self) -> str:
        return f"RedisStage({shown(self.url)!r}, key={self.key!r})"

    # -- fencing -------------------------------------------------------------------

    def fence(self, name: str, token: int | None) -> None:
        """Write only with the fencing token ``token`` of lease ``name`` from now on.

        ``token=None`` keeps the stage fenced but writes nothing until a token is given
        (between a worker's transfers). Tokens of one lease must only grow.
        """
        self._fence_name, self._fence_token = name, token

    # -- opening and closing -------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._open

    def _client(self) -> redis.Redis:
        if self._redis is None:
            try:
                self._redis = client(self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout)
            except ValueError as exc:
                raise StageError(f"stage {self.location}: {exc}") from None
        return self._redis

    def exists(self) -> bool:
        return bool(self._call("cannot read", lambda r: r.exists(self._prefix + ":info")))

    def open(self, exclusive: bool = False) -> RedisStage:
        with self._lock:
            if self._open:
                return self
            if exclusive and not self._fence_name:
                self._take_hold()
            try:
                self.uid = self._call("cannot open", self._prepare)
            except StageError:
                self._release_hold()
                raise
            self._open = True
            if exclusive and self._retention is not None:
                self._operate_script("cannot expire delivered batches of", _EXPIRE)
            return self

    def _prepare(self, r: redis.Redis) -> str:
        info = self._prefix + ":info"
        r.hsetnx(info, "uid", secrets.token_hex(6))
        r.hsetnx(info, "created", repr(time.time()))
        r.hsetnx(info, "schema", SCHEMA)
        uid, schema = (value.decode() if isinstance(value, bytes) else str(value)
                       for value in r.hmget(info, "uid", "schema"))
        if schema != SCHEMA:
            raise StageError(f"stage {self.location} has schema {schema}, which this databay-celery "
                             f"does not read (it reads schema {SCHEMA})")
        return uid

    def _take_hold(self) -> None:
        token = f"{socket.gethostname()} process {os.getpid()} {secrets.token_hex(4)}"
        hold = self._prefix + ":hold"
        taken = self._call("cannot open", lambda r: r.set(hold, token, nx=True, px=int(HOLD_SECONDS * 1000)))
        if not taken and self._holder_died():
            taken = self._call("cannot open", lambda r: r.set(hold, token, nx=True, px=int(HOLD_SECONDS * 1000)))
        if not taken:
            holder = self._call("cannot open", lambda r: r.get(hold)) or b"another link"
            raise StageError(f"stage {self.location} is in use by {holder.decode(errors='replace')}: a stage serves "
                             f"one running link at a time")
        self._hold_token, self._hold_stop = token, threading.Event()
        threading.Thread(target=self._keep_hold, args=(token, self._hold_stop), daemon=True,
                         name=f"databay-stage-hold-{self.key}").start()

    def _holder_died(self) -> bool:
        """Whether the hold belongs to a process of this host that is gone (it crashed): then
        it is released, as the SQLite stage's lock is when its process dies."""
        hold = self._prefix + ":hold"
        holder = self._call("cannot open", lambda r: r.get(hold))
        parts = holder.decode(errors="replace").split() if holder else []
        if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[2].isdigit():
            return False
        try:
            os.kill(int(parts[2]), 0)
        except ProcessLookupError:
            self._script(_RELEASE_HOLD)(keys=[hold], args=[holder])
            return True
        except PermissionError:
            pass  # alive, as another user
        return False

    def _keep_hold(self, token: str, stop: threading.Event) -> None:
        while not stop.wait(HOLD_SECONDS / 3):
            try:
                self._script(_RENEW_HOLD)(keys=[self._prefix + ":hold"], args=[token, int(HOLD_SECONDS * 1000)])
            except redis.RedisError:
                pass  # tried again; if the hold expires meanwhile, another link may open the stage

    def _release_hold(self) -> None:
        token, stop = self._hold_token, self._hold_stop
        self._hold_token = self._hold_stop = None
        if stop is not None:
            stop.set()
        if token is not None:
            try:
                self._script(_RELEASE_HOLD)(keys=[self._prefix + ":hold"], args=[token])
            except redis.RedisError:
                pass  # it expires by itself

    def close(self) -> None:
        with self._lock:
            self._open = False
            self._release_hold()
            if self._redis is not None:
                self._redis.close()
                self._redis = None

    # -- plumbing ------------------------------------------------------------------

    def _call(self, what: str, action: Any) -> Any:
        try:
            return action(self._client())
        except StageError:
            raise
        except redis.RedisError as exc:
            message = redact(f"stage {self.location}: {what} the stage: {type(exc).__name__}: {exc}")
            if "FENCED" in str(exc):
                raise StageFencedError(
                    f"stage {self.location}: this worker no longer holds the lease of {self._fence_name} (another "
                    f"worker took the link over): nothing was written") from None
            raise StageError(message) from None

    def _script(self, source: str) -> Any:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self._client().register_script(source)
        return script

    def _write(self, what: str, subject: str, source: str, *args: Any) -> Any:
        """Run the change script ``source`` as this object, under its fence."""
        if not self._open:
            self.open()
        fence = [self._fence_name, "" if self._fence_token is None else str(self._fence_token), self._writer]
        return self._run_script(f"{what} {subject}".strip(), source, fence, args)

    def _run_script(self, what: str, source: str, fence: list[str], args: Sequence[Any]) -> Any:
        """Run the script ``source`` with the common arguments (``fence``: the lease's name,
        its token and the writer), then ``args``."""
        retention = "" if self._retention is None else repr(self._retention)
        common = [self._prefix, *fence, retention, repr(time.time())]
        return self._call(what, lambda r: self._script(source)(args=[*common, *args]))

    def _read(self, what: str, action: Any) -> Any:
        if not self._open:
            self.open()
        return self._call(what, action)

    # -- the transfer side -----------------------------------------------------------

    def commit(self, transfer: str, batches: Sequence[Sequence[Record]], outlets: Sequence[str],
               inlet_states: dict[str, str] | None = None, clear_intake: bool = False,
               intake_records: Sequence[Record] = (), shared_metadata: Sequence[dict | None] = ()) -> list[int]:
        encoded = self.encode_batches(batches, shared_metadata)
        intake = encode_records(intake_records) if intake_records else b""
        if not (encoded or inlet_states or clear_intake or intake):
            return []
        states = list((inlet_states or {}).items())
        args: list[Any] = [transfer, "1" if clear_intake else "", intake, len(outlets), *outlets, len(states)]
        for inlet, state in states:
            args += [inlet, state]
        args.append(len(encoded))
        for size, data in encoded:
            args += [size, data]
        ids, times = self._write("cannot commit transfer", transfer, _COMMIT, *args)
        ids = [int(n) for n in ids]
        self.remember_origins(ids, [int(at) / 1_000_000 for at in times], transfer)
        return ids

    def claim(self) -> bool:
        """Whether another object committed since this one last committed or claimed (see
        :meth:`databay.stage.Stage.claim`). While fenced without a token, claims nothing."""
        if self._fence_name and self._fence_token is None:
            return False
        return bool(self._write("cannot claim", "", _CLAIM))

    def intake(self) -> list[Record]:
        blobs = self._read("cannot read the intake of", lambda r: r.lrange(self._prefix + ":intake", 0, -1))
        records: list[Record] = []
        for data in blobs:
            try:
                records.extend(decode_records(data))
            except ValueError as exc:
                raise StageError(redact(f"stage {self.location}: records a link buffer held cannot be decoded: "
                                        f"{exc}")) from None
        return records

    def inlet_states(self) -> dict[str, Any]:
        stored = self._read("cannot read inlet states of", lambda r: r.hgetall(self._prefix + ":states"))
        states = {}
        for inlet, state in stored.items():
            try:
                states[inlet.decode()] = json.loads(state)
            except ValueError as exc:
                raise StageError(f"stage {self.location}: the stored state of inlet '{inlet.decode()}' is not JSON "
                                 f"({exc}). Nothing was changed: correct it, or delete it to let the inlet start "
                                 f"from its own position (HDEL {self._prefix}:states {inlet.decode()})") from None
        return states

    def pending(self, outlet: str) -> list[int]:
        found = self._read(f"cannot list the pending batches of {outlet} in",
                           lambda r: r.zrange(f"{self._prefix}:p:{outlet}", 0, -1))
        return [int(n) for n in found]

    def read(self, batch: int) -> list[Record]:
        stored = self._read(f"cannot read batch {batch} of", lambda r: r.hmget(
            f"{self._prefix}:b:{batch}", "codec", "records", "created", "transfer"))
        codec, data, created, transfer = stored
        if data is None:
            raise StageError(f"stage {self.location}: batch {batch} is not staged")
        try:
            if codec.decode() != CODEC:
                raise ValueError(f"its format {codec.decode()!r} is not {CODEC!r}")
            records = decode_records(data)
        except ValueError as exc:  # the codec's DecodeError is a ValueError
            raise UndecodableBatchError(redact(f"stage {self.location}: batch {batch} cannot be decoded: {exc}")
                                        ) from None
        self.stamp(records, batch, (_seconds(created), transfer.decode()))
        return records

    def ack(self, outlet: str, batches: Iterable[int]) -> None:
        numbers = [str(batch) for batch in batches]
        if numbers:
            self._write("cannot acknowledge batches of", outlet, _ACK, outlet, *numbers)

    def dead_letter(self, outlet: str, batches: Iterable[int], error: str, traceback: str,
                    attempts: int) -> list[DeadLetter]:
        numbers = list(batches)
        if not numbers:
            return []
        now = time.time()
        error, traceback = redact(error), redact(traceback)
        failure = json.dumps({"attempts": attempts, "failed_at": now, "error": error, "traceback": traceback})
        sizes = self._write("cannot dead-letter batches of", outlet, _DEAD_LETTER, outlet, failure,
                            *map(str, numbers))
        return [DeadLetter(self.location, outlet, self.batch_id(batch), int(size), attempts, now, error, traceback)
                for batch, size in zip(numbers, sizes) if int(size) >= 0]

    def changed_elsewhere(self) -> bool:
        # Redis tells no version: the link asks for its pending batches at every transfer.
        return True

    # -- operating -------------------------------------------------------------------

    def _outlets(self) -> list[str]:
        return sorted(o.decode() for o in self._read("cannot list the outlets of",
                                                     lambda r: r.smembers(self._prefix + ":outlets")))

    def _abouts(self, numbers: Iterable[int]) -> dict[int, tuple[float, str, int, float | None]]:
        """``{batch: (created, transfer, size, delivered)}`` for the batches still stored."""
        numbers = list(numbers)

        def fetch(r: redis.Redis) -> list:
            pipe = r.pipeline(transaction=False)
            for n in numbers:
                pipe.hmget(f"{self._prefix}:b:{n}", "created", "transfer", "size", "delivered")
            return pipe.execute()

        found = {}
        for n, (created, transfer, size, delivered) in zip(numbers, self._read("cannot read batches of", fetch)):
            if created is not None:
                found[n] = (_seconds(created), transfer.decode(), int(size),
                            float(delivered) if delivered is not None else None)
        return found

    def _owed(self, states: Iterable[str]) -> list[tuple[str, str, int, dict | None]]:
        """``(outlet, state, batch, failure)`` of every delivery in ``states``, by outlet."""
        kinds = [(state, ":p:" if state == _PENDING else ":d:") for state in states if state in (_PENDING, _DEAD)]
        outlets = self._outlets()

        def fetch(r: redis.Redis) -> list:
            pipe = r.pipeline(transaction=False)
            for outlet in outlets:
                for _, kind in kinds:
                    pipe.zrange(f"{self._prefix}{kind}{outlet}", 0, -1)
                pipe.hgetall(f"{self._prefix}:e:{outlet}")
            return pipe.execute()

        results = iter(self._read("cannot list the deliveries of", fetch))
        owed = []
        for outlet in outlets:
            lists = [(state, next(results)) for state, _ in kinds]
            failures = {int(n): json.loads(v) for n, v in next(results).items()}
            for state, numbers in lists:
                owed += [(outlet, state, int(n), failures.get(int(n))) for n in numbers]
        return owed

    def backlog(self) -> list[OutletBacklog]:
        owed = self._owed([_PENDING, _DEAD])
        abouts = self._abouts({batch for _, _, batch, _ in owed})
        groups: dict[tuple[str, str], list[tuple[int, dict | None]]] = {}
        for outlet, state, batch, failure in owed:
            if batch in abouts:
                groups.setdefault((outlet, state), []).append((batch, failure))
        result = []
        for (outlet, state), entries in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] != _PENDING)):
            failed = [failure for _, failure in entries if failure]
            last: dict = max(failed, key=lambda f: f["failed_at"]) if failed else {}
            result.append(OutletBacklog(outlet, state, len(entries), sum(abouts[b][2] for b, _ in entries),
                                        min(abouts[b][0] for b, _ in entries), last.get("failed_at"),
                                        last.get("error")))
        return result

    def batches(self, states: Iterable[str] = (_PENDING, _DEAD, _DELIVERED)) -> list[StagedBatch]:
        states = set(states)
        owed = self._owed(states)
        delivered: list[int] = []
        if _DELIVERED in states:
            delivered = [int(n) for n in self._read("cannot list delivered batches of",
                                                    lambda r: r.zrange(self._prefix + ":delivered", 0, -1))]
        abouts = self._abouts({batch for _, _, batch, _ in owed} | set(delivered))
        found = []
        for outlet, state, batch, failure in owed:
            if batch in abouts:
                created, transfer, size, _ = abouts[batch]
                failure = failure or {}
                found.append(StagedBatch(batch, self.batch_id(batch), outlet, state, created, transfer, size,
                                         failure.get("attempts", 0), failure.get("failed_at"), failure.get("error")))
        for batch in delivered:
            if batch in abouts:
                created, transfer, size, at = abouts[batch]
                found.append(StagedBatch(batch, self.batch_id(batch), None, _DELIVERED, created, transfer, size, 0,
                                         at))
        return sorted(found, key=lambda b: (b.batch, b.outlet or ""))

    def dead_letters(self, outlet: str | None = None) -> list[DeadLetter]:
        dead = [owed for owed in self._owed([_DEAD]) if outlet in (None, owed[0])]
        abouts = self._abouts({batch for _, _, batch, _ in dead})
        letters = []
        for owner, _, batch, failure in dead:
            failure = failure or {}
            size = abouts.get(batch, (0.0, "", 0, None))[2]
            letters.append(DeadLetter(self.location, owner, self.batch_id(batch), size, failure.get("attempts", 0),
                                      failure.get("failed_at", 0.0), failure.get("error", ""),
                                      failure.get("traceback", "")))
        return sorted(letters, key=lambda d: (int(d.batch_id.rsplit(":", 1)[1]), d.outlet))

    def _operate(self, mode: str, outlet: str | None) -> int:
        if not self._open:
            self.open()
        return int(self._operate_script(f"cannot {mode}", _OPERATE, mode, outlet or ""))

    def _operate_script(self, what: str, source: str, *args: Any) -> Any:
        # Not fenced: operators (`databay stage`) act on the stage, not a worker's transfer.
        return self._run_script(what, source, ["", "", ""], args)

    def replay(self, outlet: str | None = None) -> int:
        return self._operate("replay", outlet)

    def purge(self, outlet: str | None = None) -> int:
        return self._operate("purge", outlet)

    def forget(self, outlet: str) -> int:
        return self._operate("forget", outlet)


def _seconds(microseconds: bytes) -> float:
    """A batch time as stored (whole microseconds since the epoch), in seconds."""
    return int(microseconds) / 1_000_000
