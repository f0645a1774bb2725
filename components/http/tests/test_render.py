"""The error schemas an OpenAPI document borrows describe exactly what the edge writes."""

from __future__ import annotations

import json

from micro_core import errors
from micro_http.render import ERROR_SCHEMAS, PROBLEM_JSON, error_body

_JSON_TYPES = {"string": str, "integer": int}


def test_the_error_schemas_name_every_field_error_body_writes_with_its_type():
    error = errors.NotFound("no such thing", id="test")
    for name, accept in (("Error", "application/json"), ("Problem", PROBLEM_JSON)):
        body = json.loads(error_body(error, accept, "/fail")[0])
        schema = ERROR_SCHEMAS[name]
        assert set(body) == set(schema["properties"]), name
        assert set(schema["required"]) <= set(body), name
        for field, value in body.items():
            assert isinstance(value, _JSON_TYPES[schema["properties"][field]["type"]]), (name, field)
