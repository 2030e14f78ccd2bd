"""The REST contract (OpenAPI 3.1), generated from the routes' docstrings and pydantic models.

The docstrings say what each operation takes and answers; the components they refer to are built
here from the code that does the checking: the pushed items' schemas from the pydantic models of
gateway/pushes/items.py (one `Event` schema per kind, its `details` that kind's model), the
receipt from gateway/pushes/receipts.py, the problems from gateway/http/api_v1.py.

`lig schema export` writes it to `openapi/openapi.yaml`; `GET /openapi.json` serves it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from gateway import __version__
from gateway.domain.enums import PushKind, PushOutcome, PushTransport
from gateway.http.responses import JSONResponse
from gateway.pushes.ingest import IDEMPOTENCY_KEY
from gateway.pushes.items import (
    AGENCY_ID,
    DETAILS,
    MAX_PERIOD_AHEAD,
    AssistanceRecordIn,
    EventIn,
)
from gateway.pushes.targets import TARGETS
from gateway.settings import Settings

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.yaml"

SCHEMAS = "#/components/schemas/"
# Component names where the model's own name is not the one the contract uses.
RENAMED = {AssistanceRecordIn.__name__: "AssistanceRecord"}
PROBLEM_JSON = "application/problem+json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMAS + name}


def _enum(enum: type[StrEnum]) -> dict[str, Any]:
    return {"type": "string", "enum": [member.value for member in enum]}


# Keywords whose values are data (or names), not schemas: left as they are.
_DATA = frozenset({"default", "const", "enum", "example", "examples", "required"})


def _tidy(node: Any, *, names: bool = False) -> Any:
    """A pydantic schema as the contract shows it: without the titles pydantic derives from
    field and model names, and with refs to renamed components rewritten. `names` is true for
    the mappings (`properties`, `$defs`) whose keys are names, not keywords."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: _tidy(schema) for name, schema in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "$ref":
            name = value.removeprefix(SCHEMAS)
            out[key] = SCHEMAS + RENAMED.get(name, name)
        elif key in _DATA:
            out[key] = value
        else:
            out[key] = _tidy(value, names=key in ("properties", "$defs"))
    return out


def _model_schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """The models' JSON Schemas (validation mode), their $defs lifted to components."""
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template=SCHEMAS + "{model}"
    )
    defs: dict[str, Any] = _tidy(top.get("$defs", {}), names=True)
    return {RENAMED.get(name, name): schema for name, schema in defs.items()}


def _agency_id(schema: dict[str, Any], field: str) -> None:
    # The models take any string; validate() (gateway/pushes/items.py) then holds it to AGENCY_ID.
    schema["properties"][field] = {
        "type": "string",
        "pattern": f"^{AGENCY_ID.pattern}$",
        "description": "The agency's own id for it: printable ASCII without spaces.",
    }


def _event_name(kind: StrEnum) -> str:
    return "".join(part.capitalize() for part in kind.value.split("_")) + "Event"


def _item_schemas() -> dict[str, Any]:
    """AssistanceRecord, and one schema per event kind with `kind` fixed and `details` that
    kind's model; `Event` is one of them, told apart by `kind`."""
    details_models = list(dict.fromkeys(DETAILS.values()))
    schemas = _model_schemas([AssistanceRecordIn, EventIn, *details_models])
    record = schemas["AssistanceRecord"]
    _agency_id(record, "agency_record_id")
    record["description"] = (
        "Assistance the pushing agency delivered. Give `date` (a payment on one day) or "
        "`period_start` (and `period_end`, for assistance over a period), not both; neither may "
        f"be in the future, and `period_end` at most {MAX_PERIOD_AHEAD.days} days ahead."
    )
    event = schemas.pop(EventIn.__name__)
    _agency_id(event, "agency_event_id")
    schemas.pop("EventKind", None)  # each kind's schema fixes `kind`
    mapping = {}
    for kind, model in DETAILS.items():
        schema = copy.deepcopy(event)
        schema["description"] = (
            f"An event of kind `{kind.value}`; `occurred_on` may not be in the future."
        )
        schema["properties"]["kind"] = {"type": "string", "const": kind.value}
        schema["properties"]["details"] = ref(model.__name__)
        if any(field.is_required() for field in model.model_fields.values()):
            schema["required"].append("details")
        name = _event_name(kind)
        schemas[name] = schema
        mapping[kind.value] = SCHEMAS + name
    schemas["Event"] = {
        "description": "A monitoring event: the fields every event has, and the `details` of "
        "its `kind`.",
        "oneOf": [{"$ref": target} for target in mapping.values()],
        "discriminator": {"propertyName": "kind", "mapping": mapping},
    }
    max_items = Settings.model_fields["push_max_items"].default
    for batch, item in (("AssistanceRecordBatch", "AssistanceRecord"), ("EventBatch", "Event")):
        schemas[batch] = {
            "description": f"At most {max_items:,} items as a JSON array; more as NDJSON.",
            "type": "array",
            "maxItems": max_items,
            "items": ref(item),
        }
    return schemas


def _key_fields() -> dict[str, Any]:
    """The agency id of an item in a receipt or a refusal: `agency_record_id` for assistance
    records, `agency_event_id` for events (null when the item had no readable one)."""
    return {
        target.key_field: {"type": ["string", "null"], "maxLength": 64}
        for target in TARGETS.values()
    }


def _one_key() -> list[dict[str, Any]]:
    return [{"required": [target.key_field]} for target in TARGETS.values()]


def _receipt_schemas() -> dict[str, Any]:
    """What gateway/pushes/receipts.py writes: header() and then item_json() for each item."""
    return {
        "Counts": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                name: {"type": "integer", "minimum": 0}
                for name in ("received", "accepted", "duplicate", "rejected")
            },
            "required": ["received", "accepted", "duplicate", "rejected"],
        },
        "Receipt": {
            "description": "What became of each item of a pushed batch, in the batch's order.",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "maxLength": 32},
                "kind": _enum(PushKind),
                "agency": {"type": "string"},
                "transport": _enum(PushTransport),
                "idempotency_key": {"type": ["string", "null"]},
                "all_or_nothing": {"type": "boolean"},
                "received_at": {"type": "string", "format": "date-time"},
                "counts": ref("Counts"),
                "items": {"type": "array", "items": ref("ReceiptItem")},
            },
            "required": [
                "id",
                "kind",
                "agency",
                "transport",
                "idempotency_key",
                "all_or_nothing",
                "received_at",
                "counts",
                "items",
            ],
        },
        "ReceiptItem": {
            "description": "One item's outcome; a rejected item has `errors`.",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "index": {"type": "integer", "minimum": 0},
                "outcome": _enum(PushOutcome),
                **_key_fields(),
                "revision": {"type": ["integer", "null"]},
                "errors": {"type": "array", "items": ref("FieldError")},
            },
            "required": ["index", "outcome", "revision"],
            "oneOf": _one_key(),
        },
    }


def _problem(description: str, errors: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """RFC 9457 problem details as gateway/http/responses.py problem() writes them."""
    required = ["type", "title", "status", *(["errors", *extra] if extra else [])]
    return {
        "description": description,
        "type": "object",
        "properties": {
            "type": {
                "type": "string",
                "description": "`about:blank`, or a `urn:lig:problem:` name for the problem.",
            },
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "request_id": {
                "type": "string",
                "description": "The request's id in the gateway's logs and audit trail.",
            },
            "errors": errors,
            **extra,
        },
        "required": required,
    }


def _problem_schemas() -> dict[str, Any]:
    return {
        "Problem": _problem(
            "RFC 9457 problem details; `errors` names the fields at fault.",
            {"type": "array", "items": ref("FieldError")},
        ),
        "FieldError": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "field": {
                    "type": "string",
                    "description": "The field, as the caller wrote it: `details.disability_grade`.",
                },
                "reason": {"type": "string"},
            },
            "required": ["field", "reason"],
        },
        "BatchRefused": _problem(
            "An all-or-nothing batch with rejected items: nothing was stored. `counts` is "
            "complete; `errors` lists the rejected items (the first 1,000).",
            {"type": "array", "items": ref("Rejection")},
            counts=ref("Counts"),
        ),
        "Rejection": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "index": {"type": "integer", "minimum": 0},
                **_key_fields(),
                "revision": {"type": ["integer", "null"]},
                "errors": {"type": "array", "items": ref("FieldError")},
            },
            "required": ["index", "revision", "errors"],
            "oneOf": _one_key(),
        },
    }


def _problem_response(
    description: str, schema: dict[str, Any] | None = None, **headers: dict[str, Any]
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = headers
    response["content"] = {PROBLEM_JSON: {"schema": schema or ref("Problem")}}
    return response


def _challenge(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "string"}}


def _responses() -> dict[str, Any]:
    return {
        "Replayed": {
            "description": "A batch sent before with the same Idempotency-Key: its first "
            "receipt; nothing new was stored.",
            "headers": {
                "Idempotent-Replayed": {
                    "description": "Always `true` here.",
                    "required": True,
                    "schema": {"type": "string", "enum": ["true"]},
                }
            },
            "content": {"application/json": {"schema": ref("Receipt")}},
        },
        "BadRequest": _problem_response(
            "The request is malformed (an unknown or invalid parameter or header, a body that is "
            "not a JSON array); nothing was stored. `errors` names the field."
        ),
        "Unauthorized": _problem_response(
            "No valid access token.",
            **{"WWW-Authenticate": _challenge("Why the token was refused (RFC 6750).")},
        ),
        "Forbidden": _problem_response(
            "The token lacks the scope this operation needs.",
            **{"WWW-Authenticate": _challenge('`Bearer error="insufficient_scope"`, the scope.')},
        ),
        "NotFound": _problem_response(
            "No such resource that this client may read (another agency's ids are not confirmed)."
        ),
        "TooLarge": _problem_response(
            "The body, or the number of items, is over the limit; nothing was stored. Send large "
            "batches as NDJSON."
        ),
        "UnsupportedMediaType": _problem_response(
            "The body is neither `application/json` nor `application/x-ndjson`."
        ),
        "Unprocessable": _problem_response(
            "Nothing was stored: an all-or-nothing batch had rejected items (`BatchRefused`), or "
            "the Idempotency-Key was used before for other items (`errors` names the header).",
            {"anyOf": [ref("BatchRefused"), ref("Problem")]},
        ),
        "TooManyRequests": _problem_response(
            "The client is over its rate limit (per client, shared by every gateway process); "
            "nothing was read or stored.",
            **{
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        ),
        "Busy": _problem_response(
            "The database was busy; nothing was stored. Retry with the same Idempotency-Key.",
            **{
                "Retry-After": {
                    "description": "Seconds to wait.",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 0},
                }
            },
        ),
    }


def _parameters() -> dict[str, Any]:
    return {
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": (
                "Makes the push safe to retry: the same key with the same items answers the "
                "first receipt and stores nothing; with other items, 422. A UUID is a good key."
            ),
            "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"},
        },
        "AllOrNothing": {
            "name": "all_or_nothing",
            "in": "query",
            "required": False,
            "description": "`true`: one rejected item refuses the whole batch (422).",
            "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
        },
    }


def components() -> dict[str, Any]:
    schemas = {
        "Health": {
            "type": "object",
            "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
            "required": ["status"],
        },
        **_problem_schemas(),
        **_item_schemas(),
        **_receipt_schemas(),
    }
    return {
        "schemas": dict(sorted(schemas.items())),
        "parameters": _parameters(),
        "responses": _responses(),
    }


COMPONENTS = components()


def openapi_document(routes: list[BaseRoute]) -> dict[str, Any]:
    generator = SchemaGenerator(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "lig — low-income population sharing gateway",
                "version": __version__,
                "description": (
                    "REST endpoints beside POST /graphql. Errors are RFC 9457 problem details."
                ),
            },
            "components": COMPONENTS,
        }
    )
    # Docstring YAML reads `200:` as an integer; OpenAPI wants string keys, as JSON has.
    document: dict[str, Any] = orjson.loads(
        orjson.dumps(generator.get_schema(routes), option=orjson.OPT_NON_STR_KEYS)
    )
    # A route's methods are a set: put each path's operations in one order, or the export
    # would differ from one process to the next (string hashing is randomised).
    document["paths"] = {
        path: dict(sorted(operations.items(), key=lambda item: _METHOD_ORDER.index(item[0])))
        for path, operations in document["paths"].items()
    }
    return document


_METHOD_ORDER = ["get", "head", "post", "put", "patch", "delete", "options", "trace"]


def openapi_yaml(routes: list[BaseRoute]) -> str:
    return yaml.safe_dump(openapi_document(routes), sort_keys=False, allow_unicode=True)


async def openapi_endpoint(request: Request) -> Response:
    """
    responses:
      200:
        description: This OpenAPI document, as JSON.
    """
    return JSONResponse(openapi_document(request.app.routes))
