"""Where an S3 component connects, how its client is made, and how boto3's failures are reported.

Shared by :class:`~databay_s3.outlet.S3Outlet` and :class:`~databay_s3.inlet.S3Inlet`.
Credentials are never arguments: boto3 finds them by itself (environment variables, the
shared credentials and config files with an optional profile, container and instance roles).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from databay.redaction import redact

from databay_s3.errors import S3AccessError, S3BucketNotFound, S3ConnectionError, S3Error, S3OperationError

_ACCESS_CODES = frozenset({
    "AccessDenied", "AllAccessDisabled", "AccountProblem", "ExpiredToken", "InvalidAccessKeyId",
    "InvalidToken", "SignatureDoesNotMatch", "InvalidSecurity", "TokenRefreshRequired", "Forbidden",
})
_NO_BUCKET_CODES = frozenset({"NoSuchBucket"})
_LONGEST_MESSAGE = 500  # of a server's reason quoted in an error: a server's answer is input too
# botocore's own retries of throttling, 5xx answers and broken connections, within one request
_RETRIES = {"mode": "standard", "total_max_attempts": 3}


def check_name(owner: str, argument: str, value: Any, empty: bool = False) -> str:
    """``value`` if it is a string (non-empty unless ``empty``); else a ``ValueError`` naming it."""
    if not isinstance(value, str) or (not value and not empty):
        raise ValueError(f"{owner}: {argument} must be a {'' if empty else 'non-empty '}string, got {value!r}")
    return value


def check_positive(owner: str, argument: str, value: Any, integer: bool = False) -> Any:
    """``value`` if it is a positive number (an ``int`` if ``integer``); else a ``ValueError``."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        what = "a positive integer" if integer else "a positive number"
        raise ValueError(f"{owner}: {argument} must be {what}, got {value!r}")
    return value


class S3Endpoint:
    """How to reach S3: an endpoint (``None``: AWS's own), a region, a profile, timeouts;
    and the boto3 client, made on first use.

    :param owner: names the component in error messages, e.g. ``'S3Outlet'``.
    :raises ValueError: an invalid argument, named.
    """

    def __init__(self, owner: str, endpoint_url: str | None, region: str | None, profile: str | None,
                 connect_timeout: float, read_timeout: float, client_options: Mapping[str, Any] | None):
        if endpoint_url is not None:
            check_name(owner, "endpoint_url", endpoint_url)
            if not endpoint_url.startswith(("http://", "https://")):
                raise ValueError(f"{owner}: endpoint_url must start with 'http://' or 'https://', "
                                 f"got {endpoint_url!r}")
            if "@" in endpoint_url.split("://", 1)[1].split("/", 1)[0]:
                raise ValueError(f"{owner}: endpoint_url must not carry credentials; boto3 reads them from the "
                                 f"environment, a profile or a role")
        if region is not None:
            check_name(owner, "region", region)
        if profile is not None:
            check_name(owner, "profile", profile)
        check_positive(owner, "connect_timeout", connect_timeout)
        check_positive(owner, "read_timeout", read_timeout)
        if client_options is not None and not isinstance(client_options, Mapping):
            raise TypeError(f"{owner}: client_options must be a mapping of botocore Config options, "
                            f"got {type(client_options).__name__}")
        options = dict(client_options or {})
        if isinstance(options.get("retries"), Mapping):  # the standard retry mode unless another is named
            options["retries"] = {"mode": "standard", **options["retries"]}
        try:
            Config(**options)
        except TypeError as exc:
            raise ValueError(f"{owner}: client_options: {exc}") from None
        self.owner = owner
        self.endpoint_url = endpoint_url
        self.region = region
        self.profile = profile
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.client_options = options
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """The endpoint's URL: the one given, or AWS's once the client is made (``'AWS S3'`` before)."""
        if self.endpoint_url is not None:
            return self.endpoint_url
        client = self._client
        return client.meta.endpoint_url if client is not None else "AWS S3"

    def client(self) -> Any:
        """The boto3 S3 client (made once; thread-safe, shared by the component's threads).

        :raises ValueError: the profile does not exist or the region or options are invalid.
        """
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        owner = self.owner
        config = Config(connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                        retries=dict(_RETRIES), user_agent_extra="databay")
        if self.client_options:
            config = config.merge(Config(**self.client_options))
        try:
            session = boto3.session.Session(profile_name=self.profile)
            return session.client("s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config)
        except ProfileNotFound:
            raise ValueError(f"{owner}: the AWS profile {self.profile!r} is not in the shared config or "
                             f"credentials files") from None
        except (BotoCoreError, ValueError) as exc:
            raise ValueError(f"{owner}: cannot make an S3 client for {self.address}: {exc}") from None

    def close(self) -> None:
        """Close the client's connections; the next request makes a new client."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def error(self, doing: str, location: str, exc: Exception) -> S3Error:
        """Translate a boto3 failure into one clear error naming the endpoint and ``location``.

        :param doing: what failed, e.g. ``'cannot write'``.
        :param location: ``s3://bucket/key`` (or ``s3://bucket/prefix``).
        """
        where = f"{self.owner} {doing} {location} (endpoint {self.address})"
        if isinstance(exc, ClientError):
            details = exc.response.get("Error", {})
            code = str(details.get("Code") or "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = str(details.get("Message") or "").strip()[:_LONGEST_MESSAGE] or code
            reason = f"{message} [{code or 'no code'}, HTTP {status}]"
            if code in _NO_BUCKET_CODES:
                error: S3Error = S3BucketNotFound(f"{where}: the bucket does not exist: {reason}")
            elif code in _ACCESS_CODES or status == 403:
                error = S3AccessError(f"{where}: access refused: {reason}")
            else:
                error = S3OperationError(f"{where}: the server refused it: {reason}")
            error.code, error.status = code or None, status
        elif isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
            error = S3AccessError(f"{where}: no usable AWS credentials ({exc}); boto3 looks in the "
                                  f"environment (AWS_ACCESS_KEY_ID...), the shared credentials and config files "
                                  f"(AWS_PROFILE or profile=...) and the instance or container role")
        elif isinstance(exc, (BotoConnectionError, ConnectionClosedError, HTTPClientError, OSError)):
            error = S3ConnectionError(f"{where}: the endpoint is unreachable: {exc}")
        else:
            error = S3OperationError(f"{where}: {type(exc).__name__}: {exc}")
        error.args = (redact(str(error)),)
        return error
