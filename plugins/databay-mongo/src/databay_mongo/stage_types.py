"""Let a databay stage store BSON values (``ObjectId``, ``Decimal128``...) in records.

Documents read by :class:`~databay_mongo.inlet.MongoInlet` carry them (an ``_id`` is an
``ObjectId``); a link with a stage only stores values of allowed types, so the inlet and
the outlet modules register these when they are imported.
"""

from __future__ import annotations

import re

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

BSON_TYPES = (ObjectId, Decimal128, Int64, Timestamp, Binary, Regex, Code, MinKey, MaxKey, DBRef, SON, FixedOffset,
              re.RegexFlag)  # a Regex keeps its flags as a RegexFlag

for _kind in BSON_TYPES:
    register_type(_kind)
