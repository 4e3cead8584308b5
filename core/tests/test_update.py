"""Update: the identity of one transfer."""

from databay import Update
from databay.link import Update as UpdateFromLink


def test_import_paths_agree():
    assert Update is UpdateFromLink


def test_str_is_tags_dot_number():
    assert str(Update(["twitter_link"], 16)) == "twitter_link.16"


def test_several_tags_are_joined_with_dots():
    assert str(Update(["a", "b"], 3)) == "a.b.3"


def test_no_tags_gives_the_number_alone():
    assert str(Update([], 7)) == "7"
    assert repr(Update([], 7)) == "7"


def test_fields():
    update = Update(["t"], 2)
    assert update.tags == ["t"]
    assert update.transfer_number == 2


def test_equality_and_hash():
    assert Update(["t"], 1) == Update(["t"], 1)
    assert Update(["t"], 1) != Update(["t"], 2)
    assert Update(["t"], 1) != Update(["u"], 1)
    assert len({Update(["t"], 1), Update(["t"], 1)}) == 1
