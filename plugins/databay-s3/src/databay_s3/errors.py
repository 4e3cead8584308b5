"""Exceptions of databay-s3 (importing them does not import boto3).

Every error raised for a request names the component, what it was doing, the object or
bucket (``s3://bucket/key``) and the endpoint, never a credential. They share the base
:class:`S3Error`, so a retry policy can name them all: ``retry_on = ["databay_s3.errors:S3Error"]``.
"""

from __future__ import annotations


class S3Error(Exception):
    """Base class of the errors of databay-s3.

    :ivar code: the S3 error code (``'AccessDenied'``, ``'NoSuchBucket'``...), or ``None``
        when the server gave none (the request never got an answer).
    :ivar status: the HTTP status of the server's answer, or ``None``.
    """

    code: str | None = None
    status: int | None = None


class S3ConnectionError(S3Error, ConnectionError):
    """The endpoint cannot be reached, or the connection broke before it answered."""


class S3AccessError(S3Error, PermissionError):
    """The credentials are missing, unknown or wrong, or they do not allow the request
    (``AccessDenied``, ``InvalidAccessKeyId``, ``SignatureDoesNotMatch``, ``ExpiredToken``...)."""


class S3BucketNotFound(S3Error, LookupError):
    """The bucket does not exist (``NoSuchBucket``)."""


class S3OperationError(S3Error, RuntimeError):
    """The server refused the request for another reason: a quota or storage limit reached,
    throttling that outlasted the client's retries, an invalid request. The message carries
    the server's code and reason."""


class S3ObjectTooLarge(S3Error, ValueError):
    """An object is larger than what :class:`~databay_s3.inlet.S3Inlet` may read in one pull
    (``max_bytes``). Nothing after it is read until the limit is raised or the object moved."""


class S3FormatError(S3Error, ValueError):
    """An object's content is not valid in the configured format (a line that is not JSON,
    CSV that cannot be decoded), or a record cannot be written in it. The message names the
    object (and line) or the record."""
