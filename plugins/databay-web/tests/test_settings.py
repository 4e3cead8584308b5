"""Settings and password hashes: what is accepted, and what is refused with which message."""

from __future__ import annotations

import pytest
from databay_web.passwords import check_hash, hash_password, verify_password
from databay_web.settings import Address, WebSettings, parse_listen, read_users
from web_helpers import HASH, PASSWORD


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.1:8080", Address("127.0.0.1", 8080)),
    ("8080", Address("127.0.0.1", 8080)),
    (":0", Address("127.0.0.1", 0)),
    ("localhost:9", Address("localhost", 9)),
    ("[::1]:8080", Address("::1", 8080)),
    ("0.0.0.0:80", Address("0.0.0.0", 80)),
])
def test_listen_addresses(text, address):
    assert parse_listen(text) == address


@pytest.mark.parametrize(("text", "message"), [
    ("nowhere", "has no port"), ("1.2.3.4:99999", "has no port"), ("::1:80", "in brackets"),
    ("[::1]80", r"is not \[IPv6\]:PORT"),
])
def test_bad_listen_addresses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_listen(text)


def test_loopback_or_not():
    assert Address("127.0.0.2", 1).loopback and Address("::1", 1).loopback and Address("localhost", 1).loopback
    assert not Address("0.0.0.0", 1).loopback and not Address("example.org", 1).loopback
    assert Address("::1", 8080).url() == "http://[::1]:8080/"


def test_users_from_a_file_and_the_environment(tmp_path):
    path = tmp_path / "users"
    path.write_text(f"# comment\n\nalice:{HASH}\n")
    users = read_users(str(path), {"DATABAY_WEB_USERS": f"bob:{HASH}, carol:{HASH}"})
    assert set(users) == {"alice", "bob", "carol"}
    path.write_text("alice:plain-password\n")
    with pytest.raises(ValueError, match=r"users line 1 \(alice\): not a password hash \(a plain password\?\)"):
        read_users(str(path), {})
    with pytest.raises(ValueError, match="expected NAME:HASH"):
        read_users(None, {"DATABAY_WEB_USERS": "nobody"})
    with pytest.raises(ValueError, match="cannot read"):
        read_users(str(tmp_path / "missing"), {})


def test_settings_refuse_what_cannot_be_safe(tmp_path):
    with pytest.raises(ValueError, match="reachable from other machines, and no authentication is configured"):
        WebSettings.make("0.0.0.0:8080", environ={})
    with pytest.raises(ValueError, match="at least 16 characters"):
        WebSettings.make("8080", token="short", environ={})
    with pytest.raises(ValueError, match="no one could log in"):
        WebSettings.make("8080", login_required=True, environ={})
    with pytest.raises(ValueError, match="go together"):
        WebSettings.make("8080", tls_cert="cert.pem", environ={})
    assert not WebSettings.make("8080", environ={}).login_required  # open to view on loopback
    remote = WebSettings.make("0.0.0.0:8080", token="x" * 20, environ={})
    assert remote.login_required  # off loopback, viewing needs a login too by default


def test_password_hashes():
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("scrypt$16384$8$1$") and hashed != hash_password(PASSWORD)  # salted
    assert verify_password(PASSWORD, hashed) and not verify_password(PASSWORD + "!", hashed)
    assert check_hash(hashed) is None
    assert "unusable parameters" in check_hash("scrypt$1073741824$8$1$AAAA$AAAA")  # would take 1 TiB
    assert not verify_password("x", "scrypt$3$8$1$AAAA$AAAA")
