"""The national interface as an OpenAPI 3.1 document, built from the code that speaks it.

The schemas are the pydantic models of wire.py (what the client validates with and the simulator
answers with), the signature rules and codes those of signing.py, the limits the simulator's,
and the worked signing example is signed and verified by signing.py while the document is
built: none of it can drift from what the code does. `lig schema export` writes it to
openapi/national-system.yaml; tests/test_contracts.py fails when the file is stale.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from adapters.national.divisions import COUNTY, TOWNS
from adapters.national.signing import (
    ALLOWED_SKEW_SECONDS,
    APP_KEY_HEADER,
    METHOD_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RequestSigner,
    SignatureMethod,
    Verifier,
    digest,
    string_to_sign,
)
from adapters.national.simulator import MAX_LIMIT, MAX_LINE
from adapters.national.wire import (
    API,
    DATA_MODELS,
    Change,
    ChangesPage,
    Problem,
    RejectionsPage,
    UploadAccepted,
    UploadMember,
    UploadReceipt,
    UploadRecord,
    UploadRejection,
)
from gateway.domain.enums import Category, HouseholdStatus, Relation

NATIONAL_OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi" / "national-system.yaml"

SCHEMAS = "#/components/schemas/"
NDJSON = "application/x-ndjson"
JSON = "application/json"
# The simulator's default page size when `limit` is left out.
DEFAULT_LIMIT = 500

# Every code the verifier (signing.py) answers with, in the order it checks; all are 401.
SIGNATURE_CODES = {
    "APP_KEY_UNKNOWN": f"`{APP_KEY_HEADER}` is missing or names no app this system issued.",
    "SIGNATURE_METHOD_UNSUPPORTED": f"`{METHOD_HEADER}` is neither "
    + " nor ".join(f"`{m.value}`" for m in SignatureMethod)
    + ".",
    "TIMESTAMP_INVALID": f"`{TIMESTAMP_HEADER}` is not Unix seconds in ASCII digits.",
    "SIGNATURE_EXPIRED": f"`{TIMESTAMP_HEADER}` is more than {ALLOWED_SKEW_SECONDS} s from the "
    "server's clock, either way: the caller's clock (or the server's) is off. The message says "
    "by how much.",
    "NONCE_INVALID": f"`{NONCE_HEADER}` is not 32 lowercase hex characters.",
    "NONCE_REPLAYED": f"`{NONCE_HEADER}` was already used by a request the system accepted: a "
    "replayed (or re-sent without re-signing) request.",
    "SIGNATURE_INVALID": f"`{SIGNATURE_HEADER}` does not match the request: the wrong secret, "
    "a string to sign built differently, or a request changed in transit.",
}

# What UploadRejection.code means; the Literal in wire.py is the list, checked below.
REJECTION_CODES = {
    "REGION_UNKNOWN": "`region_code` is not a division code the national system knows.",
    "ID_REGISTERED_ELSEWHERE": "A member is already registered as low-income in another "
    "region; `id_number` names them.",
    "ID_NUMBER_INVALID": "A member's ID number is not a valid GB 11643 number (bad date or "
    "check character); `id_number` names it.",
    "RECORD_INVALID": "The line is not an `UploadRecord` (not JSON, a field missing or wrong); "
    "`reason` names the field.",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMAS + name}


# Keywords whose values are data (or names), not schemas: left as they are.
_DATA = frozenset({"default", "const", "enum", "example", "examples", "required"})


def _tidy(node: Any, *, names: bool = False) -> Any:
    """A pydantic schema without the titles pydantic derives from field and model names (they
    repeat the name and say nothing). `names` is true for the mappings whose keys are names."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: _tidy(schema) for name, schema in node.items()}
    return {
        key: value if key in _DATA else _tidy(value, names=key in ("properties", "$defs"))
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str))
    }


def _schemas() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        *DATA_MODELS.values(),
        Change,
        ChangesPage,
        UploadRecord,
        UploadAccepted,
        UploadReceipt,
        RejectionsPage,
        Problem,
    ]
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template=SCHEMAS + "{model}"
    )
    schemas: dict[str, Any] = _tidy(top["$defs"], names=True)

    # wire.py takes `data` (and a page's changes) as plain objects so that one broken record
    # does not refuse its page; the contract says what a well-formed change holds: one schema
    # per entity, `data` that entity's model, told apart by `entity`.
    change = schemas.pop(Change.__name__)
    mapping = {}
    for entity, model in DATA_MODELS.items():
        variant = copy.deepcopy(change)
        variant["description"] = (
            f"A change of a {entity.value.lower()}: its whole state at `version`."
        )
        variant["properties"]["entity"] = {"type": "string", "const": entity.value}
        variant["properties"]["data"] = ref(model.__name__)
        name = f"{entity.value.capitalize()}Change"
        schemas[name] = variant
        mapping[entity.value] = SCHEMAS + name
    schemas.pop("SyncEntity", None)  # each variant fixes `entity`
    schemas["Change"] = {
        "description": change["description"]
        + " Versions count per (`entity`, `national_id`); a CATEGORY change's `national_id` is "
        "its household's.",
        "oneOf": [{"$ref": target} for target in mapping.values()],
        "discriminator": {"propertyName": "entity", "mapping": mapping},
    }
    page = schemas[ChangesPage.__name__]
    page["properties"]["changes"] = {
        "type": "array",
        "items": ref("Change"),
        "description": "In `seq` order, normally; a client must not rely on it (see the "
        "description of the change stream).",
    }
    page["properties"]["next_cursor"]["description"] = (
        "Where the next page starts; also when `has_more` is false (new changes appear there)."
    )
    page["properties"]["remaining"]["description"] = (
        "How many changes follow this page, when the server knows."
    )

    rejection = schemas[UploadRejection.__name__]
    codes = rejection["properties"]["code"]["enum"]
    if sorted(codes) != sorted(REJECTION_CODES):  # a new code in wire.py needs its meaning here
        raise AssertionError(f"document the rejection codes {codes}")
    rejection["properties"]["code"]["description"] = _table(REJECTION_CODES)
    rejection["properties"]["line"]["description"] = "The 1-based line of the upload."
    schemas["SignatureProblem"] = {
        "description": "A refused signature.",
        "allOf": [ref(Problem.__name__)],
        "properties": {"code": {"type": "string", "enum": list(SIGNATURE_CODES)}},
    }
    return dict(sorted(schemas.items()))


def _table(codes: dict[str, str]) -> str:
    return "\n".join(f"- `{code}`: {meaning}" for code, meaning in codes.items())


def _problem(
    description: str, schema: str = "Problem", headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = headers
    response["content"] = {JSON: {"schema": ref(schema)}}
    return response


def _responses() -> dict[str, Any]:
    return {
        "BadRequest": _problem(
            "`BAD_REQUEST`: a parameter is missing or wrong; `message` says which."
        ),
        "SignatureRefused": _problem(
            "The signature was refused; `code` says why (see the description of signing).",
            "SignatureProblem",
        ),
        "NotFound": _problem("`NOT_FOUND`: no such upload (or, for rejections, no receipt yet)."),
        "Unavailable": _problem(
            "The system is unavailable for now: retry the request, signed anew, after a backoff.",
            headers={
                "Retry-After": {
                    "description": "Seconds to wait before retrying, when the server knows.",
                    "schema": {"type": "integer", "minimum": 0},
                }
            },
        ),
    }


def _parameters() -> dict[str, Any]:
    return {
        "Cursor": {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": "A `next_cursor` this system answered, as it was; left out: from the "
            "start. Opaque: do not build or change one.",
            "schema": {"type": "string"},
        },
        "Limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "Most items in the page.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        "UploadId": {
            "name": "upload_id",
            "in": "path",
            "required": True,
            "description": "The `upload_id` that POST /uploads answered.",
            "schema": {"type": "string"},
        },
    }


def _signed(operation: dict[str, Any]) -> dict[str, Any]:
    """Every operation answers a refused signature and an unavailable system the same way."""
    responses = operation["responses"]
    responses["401"] = {"$ref": "#/components/responses/SignatureRefused"}
    responses["5XX"] = {"$ref": "#/components/responses/Unavailable"}
    operation["responses"] = dict(sorted(responses.items()))  # "5XX" sorts after "4xx"
    return operation


def _paths() -> dict[str, Any]:
    responses = "#/components/responses/"
    parameters = "#/components/parameters/"
    return {
        f"{API}/changes": {
            "get": _signed(
                {
                    "operationId": "listChanges",
                    "summary": "The change stream, one page after a cursor.",
                    "parameters": [{"$ref": parameters + "Cursor"}, {"$ref": parameters + "Limit"}],
                    "responses": {
                        "200": {
                            "description": "A page of changes.",
                            "content": {JSON: {"schema": ref(ChangesPage.__name__)}},
                        },
                        "400": {"$ref": responses + "BadRequest"},
                    },
                }
            )
        },
        f"{API}/uploads": {
            "post": _signed(
                {
                    "operationId": "createUpload",
                    "summary": "The monthly upload of one region's covered households (NDJSON).",
                    "parameters": [
                        {
                            "name": "month",
                            "in": "query",
                            "required": True,
                            "description": "The month the upload covers.",
                            "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                        },
                        {
                            "name": "region_code",
                            "in": "query",
                            "required": True,
                            "description": "The uploading region: a 12-digit division code "
                            "the national system knows.",
                            "schema": {"type": "string", "pattern": r"^\d{12}$"},
                        },
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Makes the upload safe to send again: the same key "
                            "with the same bytes answers the first upload's `upload_id` and "
                            "records nothing new; with other bytes, 409.",
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "description": "One `UploadRecord` per line (UTF-8, lines ended by "
                        f"LF, at most {MAX_LINE:,} bytes each; blank lines are skipped).",
                        "content": {NDJSON: {"schema": ref(UploadRecord.__name__)}},
                    },
                    "responses": {
                        "202": {
                            "description": "Taken; its records are checked afterwards: poll "
                            "the receipt.",
                            "content": {JSON: {"schema": ref(UploadAccepted.__name__)}},
                        },
                        "400": {"$ref": responses + "BadRequest"},
                        "409": _problem(
                            "`IDEMPOTENCY_KEY_REUSED`: the key named an upload of other bytes."
                        ),
                    },
                }
            )
        },
        f"{API}/uploads/{{upload_id}}": {
            "get": _signed(
                {
                    "operationId": "getUploadReceipt",
                    "summary": "An upload's receipt.",
                    "parameters": [{"$ref": parameters + "UploadId"}],
                    "responses": {
                        "200": {
                            "description": "`PROCESSING` until every record has been checked; "
                            "then `DONE` with the counts.",
                            "content": {JSON: {"schema": ref(UploadReceipt.__name__)}},
                        },
                        "404": {"$ref": responses + "NotFound"},
                    },
                }
            )
        },
        f"{API}/uploads/{{upload_id}}/rejections": {
            "get": _signed(
                {
                    "operationId": "listUploadRejections",
                    "summary": "The rejected records of a `DONE` upload, one page after a cursor.",
                    "parameters": [
                        {"$ref": parameters + "UploadId"},
                        {"$ref": parameters + "Cursor"},
                        {"$ref": parameters + "Limit"},
                    ],
                    "responses": {
                        "200": {
                            "description": "A page of rejections, by line; `next_cursor` null "
                            "on the last page.",
                            "content": {JSON: {"schema": ref(RejectionsPage.__name__)}},
                        },
                        "400": {"$ref": responses + "BadRequest"},
                        "404": {"$ref": responses + "NotFound"},
                    },
                }
            )
        },
    }


def _security_schemes() -> dict[str, Any]:
    described = {
        APP_KEY_HEADER: "The app key this system issued to the caller.",
        TIMESTAMP_HEADER: "The time of signing, Unix seconds.",
        NONCE_HEADER: "32 lowercase hex characters, new for every request (and every retry).",
        METHOD_HEADER: " or ".join(m.value for m in SignatureMethod) + ".",
        SIGNATURE_HEADER: "The lowercase hex HMAC of the string to sign under the app secret.",
    }
    return {
        header.removeprefix("X-").replace("-", ""): {
            "type": "apiKey",
            "in": "header",
            "name": header,
            "description": text,
        }
        for header, text in described.items()
    }


# The worked example: fixed inputs, signed by signing.py whenever the document is built.
EXAMPLE_APP_KEY = "demo-app"
EXAMPLE_SECRET = b"demo-secret"
EXAMPLE_TIMESTAMP = 1767225600  # 2026-01-01T00:00:00Z
EXAMPLE_NONCE = "6f1c2a9e8b7d4c3f9e0a1b2c3d4e5f60"
# As sent, in this order: the canonical query sorts it.
EXAMPLE_QUERY = {"region_code": COUNTY, "month": "2026-01"}


def _example_body() -> bytes:
    record = UploadRecord(
        household_code="H320681100001",
        region_code=TOWNS[0],
        category=Category.DIBAO,
        status=HouseholdStatus.ACTIVE,
        valid_from=date(2026, 1, 1),
        members=[UploadMember(id_number="11010519491231002X", name="张三", relation=Relation.SELF)],
    )
    return record.model_dump_json(exclude_none=True).encode() + b"\n"


def _example() -> str:
    body = _example_body()
    path = f"{API}/uploads"
    lines = [
        "## A worked example",
        "",
        f"App key `{EXAMPLE_APP_KEY}`, secret `{EXAMPLE_SECRET.decode()}` (its UTF-8 bytes are "
        f"the HMAC key), timestamp `{EXAMPLE_TIMESTAMP}` (2026-01-01T00:00:00Z), nonce "
        f"`{EXAMPLE_NONCE}`; the request (its body is one line, ended by LF):",
        "",
        "```http",
        f"POST {path}?{urlencode(EXAMPLE_QUERY)} HTTP/1.1",
        f"Content-Type: {NDJSON}",
        "",
        body.decode().rstrip("\n"),
        "```",
    ]
    for method in SignatureMethod:
        body_digest = digest(method, body)
        signer = RequestSigner(
            EXAMPLE_APP_KEY,
            EXAMPLE_SECRET,
            method,
            clock=lambda: EXAMPLE_TIMESTAMP,
            nonces=lambda: EXAMPLE_NONCE,
        )
        headers = signer("POST", path, EXAMPLE_QUERY, body_digest)
        # The example must be one the verifier accepts, or it would teach a wrong signature.
        Verifier({EXAMPLE_APP_KEY: EXAMPLE_SECRET}, clock=lambda: EXAMPLE_TIMESTAMP).verify(
            "POST", path, EXAMPLE_QUERY, body, headers
        )
        text = string_to_sign(
            "POST",
            path,
            EXAMPLE_QUERY,
            body_digest,
            EXAMPLE_APP_KEY,
            EXAMPLE_TIMESTAMP,
            EXAMPLE_NONCE,
        )
        hash_name = "SM3" if method is SignatureMethod.HMAC_SM3 else "SHA-256"
        lines += [
            "",
            f"With `{method.value}`, the body's {hash_name} digest is `{body_digest}`, the "
            "string to sign",
            "",
            "```text",
            text,
            "```",
            "",
            "and the headers",
            "",
            "```http",
            *(f"{name}: {value}" for name, value in headers.items()),
            "```",
        ]
    return "\n".join(lines)


def _description() -> str:
    methods = " or ".join(f"`{m.value}`" for m in SignatureMethod)
    return f"""\
The interface through which lig syncs with the national social-assistance information system
(全国社会救助信息系统). The national system's own interface is not public: this is the one lig
defines, which `adapters/national/client.py` speaks and `adapters/national/simulator.py` plays.
Every error is answered as JSON `{{"code", "message"}}`: a stable code and a message a person can
act on.

## Signing

Every request carries the five headers of the security scheme. `{SIGNATURE_HEADER}` is the
lowercase hex HMAC (RFC 2104) of the *string to sign* under the app secret, with the hash
`{METHOD_HEADER}` names: {methods} (SM3 as GB/T 32905-2016 defines it; 64-byte blocks, as
SHA-256). The string to sign is seven lines joined by LF (`\\n`), with no LF at the end:

```text
METHOD
PATH
CANONICAL_QUERY
BODY_DIGEST
APP_KEY
TIMESTAMP
NONCE
```

- `METHOD`: the HTTP method, upper case.
- `PATH`: the path exactly as sent on the request line (percent-encoded as sent), without the
  query.
- `CANONICAL_QUERY`: each query parameter (a name at most once) as `name=value`, name and value
  each percent-encoded from their UTF-8 bytes as RFC 3986 does, leaving only the unreserved
  `A-Z a-z 0-9 - _ . ~` as they are (a space is `%20`, never `+`; `+` is `%2B`, `/` is `%2F`,
  `张` is `%E5%BC%A0`), hex digits upper case; the pairs sorted by encoded name (then encoded
  value) in byte order and joined by `&`. An empty line when there is no query.
- `BODY_DIGEST`: the lowercase hex digest of the body's exact bytes with the signature method's
  hash (SM3 for HMAC-SM3, SHA-256 for HMAC-SHA256); of no bytes when there is no body.
- `APP_KEY`, `TIMESTAMP`, `NONCE`: the values of `{APP_KEY_HEADER}`, `{TIMESTAMP_HEADER}` (Unix
  seconds) and `{NONCE_HEADER}`, as sent.

Other headers (`Content-Type`, `Idempotency-Key`) are not signed. The server accepts a request
whose timestamp is at most {ALLOWED_SKEW_SECONDS} s from its own clock, either way (exactly
{ALLOWED_SKEW_SECONDS} s passes). The nonce is 32 lowercase hex characters, drawn at random for
every request; the server remembers the nonce of every request it accepted for at least twice
that window (after which the timestamp alone refuses it), so a request cannot be replayed, and
every attempt of a request, a retry included, is signed anew (new timestamp, new nonce). A
refused request does not use up its nonce. A request refused for its
signature is answered 401 with one of these codes:

{_table(SIGNATURE_CODES)}

{_example()}

## The change stream

`GET {API}/changes` serves every change the national system holds about the households, people
and categories of the caller's area, one page after a cursor. A change is never a delta: it is
the whole state of one entity (`entity`, `national_id`) at one `version`, and versions of one
entity only grow. A client applies a change when its version is higher than the one it holds,
and skips it otherwise, so the highest version wins: a change served twice, late, or out of
order within a page changes nothing, and a page applied twice is harmless. Keep `next_cursor`
once the page is applied (with the data, in one transaction) and ask from it next time; pages
may overlap it. `has_more` false means the client has caught up (new changes will appear after
the same `next_cursor`); `remaining`, when given, counts the changes after the page, for
progress. A change whose `data` breaks its schema is to be set aside with its reasons, not to
stop the sync.

## The monthly upload

`POST {API}/uploads?month=YYYY-MM&region_code=…` takes the households a region covers that
month as NDJSON: one `UploadRecord` per line, a covered household with its members. The body is
streamed; the signature's body digest is over its exact bytes. Send an `Idempotency-Key`, new
for each upload and the same when that upload is sent again (after a lost answer), so that it is
not taken twice; the same key with other bytes is refused (409). The answer is 202 with the
`upload_id` at once; the records are checked afterwards. Poll
`GET {API}/uploads/{{upload_id}}` until its `status` is `DONE`, then read
`GET {API}/uploads/{{upload_id}}/rejections` page by page: each rejection names the line (and
the member, for a person's problem) and a code; a line can be rejected for several reasons, and
`rejected` counts the lines. Rejection codes:

{_table(REJECTION_CODES)}

## Retries

An answer 408, 425, 429 or 5xx, a timeout or a dropped connection may be retried after a
jittered backoff, honouring `Retry-After`; any other 4xx is the caller's to fix and is not.
"""


def national_openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "National social-assistance system: the interface lig syncs through",
            "version": API.rsplit("/", 1)[-1],
            "description": _description(),
        },
        # One requirement naming all five: every header is needed, together.
        "security": [{name: [] for name in _security_schemes()}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "parameters": _parameters(),
            "responses": _responses(),
            "securitySchemes": _security_schemes(),
        },
    }


class _Dumper(yaml.SafeDumper):
    """Safe YAML that writes a text of several lines as a literal block, so that the
    description (and its string to sign) reads in the file as it reads rendered."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


_Dumper.add_representer(str, _text)


def national_openapi_yaml() -> str:
    return yaml.dump(
        national_openapi_document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True
    )
