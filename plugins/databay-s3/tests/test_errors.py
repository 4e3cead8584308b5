"""Bad input and outages: unreachable endpoint, wrong or missing credentials, permission
denied (moto enforcing IAM), missing bucket, a quota reached (a proxy answering as MinIO
does). Each gives one clear error naming the endpoint and the object and no secret; on a
staged link a retry policy retries it and nothing is lost."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from databay import Link, Record, RetryPolicy, Update
from databay.planners import SchedulePlanner
from databay.stage import Stage
from databay.testing import SequenceInlet
from databay_s3 import (
    S3AccessError,
    S3BucketNotFound,
    S3ConnectionError,
    S3Error,
    S3Inlet,
    S3OperationError,
    S3Outlet,
)
from databay_s3.testing import MotoServer, external_test_endpoint, free_port

UPDATE = Update(["errors"], 1)
moto_only = pytest.mark.skipif(external_test_endpoint() is not None, reason="needs moto (enforcing IAM)")


def numbers_in(bucket) -> list[int]:
    return sorted(json.loads(line)["n"] for key in bucket.keys() for line in bucket.read(key).splitlines())


# -- unreachable, missing bucket ----------------------------------------------------------


def test_an_unreachable_endpoint(bucket):
    endpoint = f"http://127.0.0.1:{free_port()}"
    outlet = S3Outlet(bucket.name, "k.{ext}", endpoint_url=endpoint, client_options={"retries": {"total_max_attempts": 1}})
    with pytest.raises(S3ConnectionError) as caught:
        outlet.push([Record(1)], UPDATE)
    assert str(caught.value).startswith(f"S3Outlet cannot write s3://{bucket.name}/k.jsonl (endpoint {endpoint}): "
                                        f"the endpoint is unreachable: Could not connect to the endpoint URL")
    assert caught.value.code is None and isinstance(caught.value, ConnectionError)
    inlet = S3Inlet(bucket.name, "in/", endpoint_url=endpoint, client_options={"retries": {"total_max_attempts": 1}})
    with pytest.raises(S3ConnectionError, match=f"S3Inlet cannot list s3://{bucket.name}/in/ \\(endpoint "
                                                f"{endpoint}\\): the endpoint is unreachable"):
        inlet.pull(UPDATE)


def test_a_missing_bucket(endpoint):
    with pytest.raises(S3BucketNotFound) as caught:
        S3Outlet("no-such-bucket", "k", endpoint_url=endpoint).push([Record(1)], UPDATE)
    assert str(caught.value) == (f"S3Outlet cannot write s3://no-such-bucket/k (endpoint {endpoint}): the bucket "
                                 f"does not exist: The specified bucket does not exist [NoSuchBucket, HTTP 404]")
    assert (caught.value.code, caught.value.status) == ("NoSuchBucket", 404)
    with pytest.raises(S3BucketNotFound, match="S3Inlet cannot list s3://no-such-bucket/ "):
        S3Inlet("no-such-bucket", endpoint_url=endpoint).pull(UPDATE)


# -- credentials and permissions (moto enforcing IAM) -------------------------------------


@pytest.fixture(scope="module")
def iam_server():
    """A moto server enforcing IAM after the 6 requests that make a bucket and two users:
    alice may do anything to the bucket, bob nothing."""
    if external_test_endpoint() is not None:
        pytest.skip("needs moto (enforcing IAM)")
    with MotoServer(enforce_iam_after=6) as server:
        admin = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1", "aws_access_key_id": "admin",
                 "aws_secret_access_key": "admin-secret"}
        boto3.client("s3", **admin).create_bucket(Bucket="guarded")
        iam = boto3.client("iam", **admin)
        users = {}
        for name in ("alice", "bob"):
            iam.create_user(UserName=name)
            users[name] = iam.create_access_key(UserName=name)["AccessKey"]
            if name == "alice":
                iam.put_user_policy(UserName=name, PolicyName="bucket", PolicyDocument=json.dumps({
                    "Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::guarded", "arn:aws:s3:::guarded/*"]}]}))
        yield server.endpoint_url, users


def as_user(monkeypatch, key_id: str, secret: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


def test_credentials_from_the_environment_are_used(iam_server, monkeypatch):
    endpoint, users = iam_server
    as_user(monkeypatch, users["alice"]["AccessKeyId"], users["alice"]["SecretAccessKey"])
    S3Outlet("guarded", "from-env/k.{ext}", endpoint_url=endpoint).push([Record({"n": 1})], UPDATE)
    assert [r.payload for r in S3Inlet("guarded", "from-env/", endpoint_url=endpoint).pull(UPDATE)] == [{"n": 1}]


def test_credentials_from_a_profile_are_used(iam_server, monkeypatch, tmp_path):
    endpoint, users = iam_server
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[writer]\naws_access_key_id = {users['alice']['AccessKeyId']}\n"
                           f"aws_secret_access_key = {users['alice']['SecretAccessKey']}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    as_user(monkeypatch, "nobody", "wrong")  # a profile named explicitly wins over the environment
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    S3Outlet("guarded", "from-profile/k", endpoint_url=endpoint, profile="writer").push([Record(1)], UPDATE)
    with pytest.raises(ValueError, match="S3Outlet: the AWS profile 'nobody' is not in the shared config"):
        S3Outlet("guarded", endpoint_url=endpoint, profile="nobody").push([Record(1)], UPDATE)


@pytest.mark.parametrize("who, code", [("unknown key", "InvalidAccessKeyId"),
                                       ("wrong secret", "SignatureDoesNotMatch"),
                                       ("bob", "AccessDenied")])
def test_refused_credentials(iam_server, monkeypatch, who, code):
    endpoint, users = iam_server
    key_id, secret = {"unknown key": ("AKIAUNKNOWN0000000", "some-secret-value"),
                      "wrong secret": (users["alice"]["AccessKeyId"], "not-alices-secret"),
                      "bob": (users["bob"]["AccessKeyId"], users["bob"]["SecretAccessKey"])}[who]
    as_user(monkeypatch, key_id, secret)
    with pytest.raises(S3AccessError) as caught:
        S3Outlet("guarded", "k", endpoint_url=endpoint).push([Record(1)], UPDATE)
    message = str(caught.value)
    assert message.startswith(f"S3Outlet cannot write s3://guarded/k (endpoint {endpoint}): access refused: ")
    assert message.endswith(f"[{code}, HTTP 403]") and caught.value.code == code
    assert secret not in message and isinstance(caught.value, PermissionError)
    with pytest.raises(S3AccessError, match=f"S3Inlet cannot list s3://guarded/ .*\\[{code}, HTTP 403\\]"):
        S3Inlet("guarded", endpoint_url=endpoint).pull(UPDATE)


def test_no_credentials_at_all(monkeypatch, tmp_path, endpoint, bucket):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(S3AccessError) as caught:
        S3Outlet(bucket.name, "k", endpoint_url=endpoint).push([Record(1)], UPDATE)
    assert str(caught.value).startswith(f"S3Outlet cannot write s3://{bucket.name}/k (endpoint {endpoint}): no "
                                        f"usable AWS credentials (Unable to locate credentials); boto3 looks in")


# -- a quota reached, throttling: retried, nothing lost ------------------------------------

QUOTA = (400, "XMinioAdminBucketQuotaExceeded", "Bucket quota exceeded")


def test_a_quota_reached(proxy, bucket):
    proxy.refuse(*QUOTA)
    with pytest.raises(S3OperationError) as caught:
        S3Outlet(bucket.name, "k", endpoint_url=proxy.url).push([Record(1)], UPDATE)
    assert str(caught.value) == (f"S3Outlet cannot write s3://{bucket.name}/k (endpoint {proxy.url}): the server "
                                 f"refused it: Bucket quota exceeded [XMinioAdminBucketQuotaExceeded, HTTP 400]")
    assert bucket.keys() == []


def test_a_staged_link_retries_and_loses_nothing(proxy, bucket, tmp_path):
    proxy.refuse(*QUOTA, times=2, path_contains="/n/")
    proxy.refuse(503, "SlowDown", "Please reduce your request rate.", times=1, path_contains="/n/")
    outlet = S3Outlet(bucket.name, endpoint_url=proxy.url, client_options={"retries": {"total_max_attempts": 1}})
    link = Link(SequenceInlet(), outlet, interval=1, tags=["n"], stage=tmp_path / "s.stage",
                retry=RetryPolicy(attempts=5, initial_delay=0.01, jitter=0))
    link.transfer()
    link.transfer()
    link.on_shutdown()
    assert proxy.refused == 3
    assert numbers_in(bucket) == list(range(6))
    assert link.stage.backlog() == [] and link.stage.dead_letters() == []


def test_a_batch_failing_every_attempt_is_dead_lettered_and_replayed_once(proxy, bucket, tmp_path):
    proxy.refuse(*QUOTA, path_contains="/n/")
    stage = tmp_path / "s.stage"
    outlet = S3Outlet(bucket.name, endpoint_url=proxy.url)
    link = Link(SequenceInlet(), outlet, interval=1, tags=["n"], stage=stage, ignore_exceptions=True,
                retry=RetryPolicy(attempts=2, initial_delay=0.01, jitter=0))
    link.transfer()
    [letter] = link.stage.dead_letters()
    assert f"S3OperationError: S3Outlet cannot write s3://{bucket.name}/n/" in letter.error
    assert f"(endpoint {proxy.url}): the server refused it: Bucket quota exceeded" in letter.error
    proxy.refusals.clear()  # space freed
    with Stage(stage).open() as other:  # as `databay stage --replay` does, from another process
        assert other.replay() == 1
    link.transfer()
    link.transfer()
    link.on_shutdown()
    assert numbers_in(bucket) == list(range(9))


@pytest.mark.skipif(external_test_endpoint() is not None, reason="the proxy forwards to moto only")
def test_an_outage_under_a_planner_loses_nothing_and_duplicates_nothing(proxy, bucket, tmp_path):
    outlet = S3Outlet(bucket.name, endpoint_url=proxy.url, connect_timeout=0.5,
                      client_options={"retries": {"total_max_attempts": 1}})
    link = Link(SequenceInlet(), outlet, interval=0.05, tags=["n"], stage=tmp_path / "s.stage",
                retry=RetryPolicy(attempts=50, initial_delay=0.05, max_delay=0.2))
    planner = SchedulePlanner(link, ignore_exceptions=True)
    runner = threading.Thread(target=planner.start)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while len(bucket.keys()) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.stop()
        time.sleep(1.5)
        proxy.start()
        time.sleep(1.0)
    finally:
        planner.shutdown()
        runner.join(10)
    produced = link.inlets[0].next
    assert numbers_in(bucket) == list(range(produced)), "every number once"
    with link.stage as stage:
        assert stage.backlog() == [] and stage.dead_letters() == []


def test_every_error_is_an_s3error():
    for kind in (S3AccessError, S3BucketNotFound, S3ConnectionError, S3OperationError):
        assert issubclass(kind, S3Error)
