"""Let a databay stage store BSON values (``ObjectId``, ``Decimal128``...) in records.

Documents read by :class:`~databay_mongo.inlet.MongoInlet` carry them (an ``_id`` is an
``ObjectId``); a link with a stage only stores values of registered types, so the inlet
and the outlet modules register these when they are imported. Each type is stored as
plain data and rebuilt through its public constructor, which checks what it is given.
"""

from __future__ import annotations

import re
from typing import Any

from bson.binary import Binary
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.son import SON
from bson.timestamp import Timestamp
from bson.tz_util import FixedOffset
from databay.stage import register_type


def _dbref(state: Any) -> DBRef:
    document = dict(state)
    return DBRef(document.pop("$ref"), document.pop("$id"), document.pop("$db", None), _extra=document)


# type: (encode(value) -> state, decode(state) -> value)
CODECS: dict[type, tuple[Any, Any]] = {
    ObjectId: (lambda v: v.binary, ObjectId),
    Decimal128: (lambda v: v.bid, Decimal128.from_bid),
    Int64: (int, Int64),
    Timestamp: (lambda v: (v.time, v.inc), lambda s: Timestamp(*s)),
    Binary: (lambda v: (bytes(v), v.subtype), lambda s: Binary(*s)),
    Regex: (lambda v: (v.pattern, v.flags), lambda s: Regex(*s)),
    Code: (lambda v: (str(v), v.scope), lambda s: Code(*s)),
    MinKey: (lambda v: (), lambda s: MinKey()),
    MaxKey: (lambda v: (), lambda s: MaxKey()),
    DBRef: (lambda v: list(v.as_doc().items()), _dbref),
    SON: (lambda v: list(v.items()), SON),
    FixedOffset: (lambda v: v.__getinitargs__(), lambda s: FixedOffset(*s)),
    re.RegexFlag: (int, re.RegexFlag),  # a Regex keeps its flags as a RegexFlag
}

BSON_TYPES = tuple(CODECS)

for _kind, (_encode, _decode) in CODECS.items():
    register_type(_kind, encode=_encode, decode=_decode)
