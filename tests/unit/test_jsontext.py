"""JSON column text (service/jsontext.py): text encoded ahead is stored as it is; anything
else is encoded as SQLAlchemy's default serializer would."""

from __future__ import annotations

import json

from service.jsontext import EncodedJSON, canonical, serialize, sha256


def test_encoded_text_passes_through_and_anything_else_is_encoded_as_before():
    value = {"b": [1, 2.5, None], "a": "caf\u00e9"}
    text = canonical(value)
    assert isinstance(text, EncodedJSON)
    assert text == '{"a":"caf\\u00e9","b":[1,2.5,null]}'
    assert serialize(text) is text
    assert serialize(value) == json.dumps(value)
    assert serialize("a plain string") == '"a plain string"'  # a str value is still a JSON value
    assert json.loads(serialize(text)) == value
    assert sha256(text) == sha256(canonical(dict(reversed(value.items()))))
