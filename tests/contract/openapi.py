"""Validate real HTTP traffic against the providers' official OpenAPI documents.

Why: the stand-ins and clients are only trustworthy if both speak exactly what the real API
documents. Every request a client sends and every response a stand-in returns goes through
`SpecValidator.check_exchange` (wired in as httpx event hooks by `validating_hooks`); an
operation missing from the spec or a body that does not conform fails the test.

The documents are read from SKYPANEL_SPECS_DIR (default <project>/../shared/specs), parsed once
per process (functools.lru_cache; the YAML files are ~3 MB, ~1 s each with the C loader), and
their few known quirks are fixed by `normalise_spec` -- one named rule per quirk -- instead of
loosening validation wholesale.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import yaml
from openapi_core import Config, OpenAPI
from werkzeug.datastructures import Headers, ImmutableMultiDict

from openapi_core.datatypes import RequestParameters

PROJECT = Path(__file__).resolve().parents[2]

SPEC_FILES = {
    "linode": "linode.yaml",
    "digitalocean": "digitalocean.yaml",
    "paypal_orders": "paypal_checkout_orders_v2.json",
    "paypal_payments": "paypal_payments_payment_v2.json",
    "paypal_webhooks": "paypal_notifications_webhooks_v1.json",
}

# Linode timestamps carry no timezone ("2024-01-01T00:01:01"); validated by this exact pattern.
LINODE_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"


def specs_dir() -> Path:
    return Path(os.environ.get("SKYPANEL_SPECS_DIR") or PROJECT.parent / "shared" / "specs")


# -- quirk normaliser ---------------------------------------------------------------------------


def _merge_object_allof(node: dict) -> dict | None:
    """Merge an allOf whose branches are all plain inline objects into one object schema."""
    branches = node.get("allOf")
    if not isinstance(branches, list) or not branches:
        return None
    plain_keys = {"type", "properties", "required", "additionalProperties", "description", "title", "example"}
    for b in branches:
        if not isinstance(b, dict) or "$ref" in b or set(b) - plain_keys:
            return None
        if b.get("type", "object") != "object" or not isinstance(b.get("additionalProperties", False), bool):
            return None
    merged: dict[str, Any] = {"type": "object", "properties": {}}
    required: list[str] = []
    for b in branches:
        merged["properties"].update(b.get("properties") or {})
        required += [r for r in b.get("required") or [] if r not in required]
    if required:
        merged["required"] = required
    if any(b.get("additionalProperties") is False for b in branches):
        merged["additionalProperties"] = False
    for key, value in node.items():
        if key != "allOf":
            merged.setdefault(key, value)
    return merged


def normalise_spec(name: str, spec: dict) -> dict:
    """Return a copy of `spec` with the documented quirks of that provider's document fixed."""
    spec = copy.deepcopy(spec)
    if name == "digitalocean":
        # Rule (DigitalOcean): the path parameter `ssh_key_identifier` is `anyOf` the ssh_key_id /
        # ssh_key_fingerprint schemas, which are readOnly (response fields); openapi-core honours
        # readOnly in a request and so rejects every DELETE /v2/account/keys/{id}. Same types,
        # without readOnly.
        param = spec["components"]["parameters"]["ssh_key_identifier"]
        param["schema"] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
        return spec
    if name.startswith("paypal_"):
        return _normalise_paypal(name, spec)
    if name != "linode":
        return spec

    def walk(node: Any, parent_key: str | None = None) -> Any:
        if isinstance(node, list):
            return [walk(x, parent_key) for x in node]
        if not isinstance(node, dict):
            return node
        # Rule 1 (Linode): simple object allOf branches each carry additionalProperties: false,
        # so a body with properties from two branches fails both; merge them into one object.
        merged = _merge_object_allof(node)
        if merged is not None:
            node = merged
        # Rule 2 (Linode): timestamps are sent without a timezone, which is not RFC 3339
        # date-time; check them against the exact form the API uses instead.
        if node.get("type") == "string" and node.get("format") == "date-time":
            node = {k: v for k, v in node.items() if k != "format"}
            node["pattern"] = LINODE_TIMESTAMP
        # Rule 4 (Linode): the X-Filter header carries JSON text but is described with a plain
        # object `schema`, so the raw string never matches; describe it as JSON `content`.
        if node.get("in") == "header" and node.get("name") == "X-Filter" and "schema" in node:
            node = {k: v for k, v in node.items() if k != "schema"} | {
                "content": {"application/json": {"schema": node["schema"]}}
            }
        props = node.get("properties")
        if isinstance(props, dict):
            # Rule 3 (Linode): fields the real API sends as null but the document does not mark
            # nullable: backups.last_successful, backups.schedule.day/window, errors[].field.
            nullable = {
                "backups": ("last_successful",),
                "schedule": ("day", "window"),
                "errors": ("field",),
            }.get(parent_key or "", ())
            for field in nullable:
                if isinstance(props.get(field), dict):
                    fixed = {**props[field], "nullable": True}
                    if isinstance(fixed.get("enum"), list) and None not in fixed["enum"]:
                        fixed["enum"] = [*fixed["enum"], None]  # an enum would still reject null
                    props[field] = fixed
        out = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {pk: walk(pv, pk) for pk, pv in value.items()}
            elif key == "items":
                out[key] = walk(value, parent_key)  # errors: {items: {properties: {field}}}
            else:
                out[key] = walk(value, parent_key if key in ("allOf", "oneOf", "anyOf") else None)
        return out

    spec["paths"] = walk(spec["paths"])
    spec["components"] = walk(spec.get("components", {}))
    return spec


def _normalise_paypal(name: str, spec: dict) -> dict:
    """PayPal's documented quirks, one rule each (the copy is already deep)."""

    def strip_read_only(node: Any) -> Any:
        if isinstance(node, list):
            return [strip_read_only(x) for x in node]
        if not isinstance(node, dict):
            return node
        return {k: strip_read_only(v) for k, v in node.items() if k != "readOnly"}

    def walk(node: Any, key: str | None = None) -> Any:
        if isinstance(node, list):
            return [walk(x) for x in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v, k) for k, v in node.items()}
        # Rule 1 (PayPal): error `details[].description` is pinned by an enum to one exact text
        # per issue; PayPal words them differently over time. The `issue` enum stays checked.
        props = out.get("properties")
        if isinstance(props, dict) and "issue" in props and isinstance(props.get("description"), dict):
            props["description"] = {k: v for k, v in props["description"].items() if k != "enum"}
        return out

    spec["paths"] = walk(spec["paths"])
    spec["components"] = walk(spec.get("components", {}))
    if name == "paypal_webhooks":
        # Rule 2 (PayPal): every property of `event` is readOnly, and openapi-core rejects
        # readOnly properties in a request, so the verify-webhook-signature request (which must
        # carry the event) can never validate. Same schema, readOnly dropped, for that request only.
        schemas = spec["components"]["schemas"]
        event = strip_read_only(copy.deepcopy(schemas["event"]))
        schemas["event_as_request"] = event
        schemas["verify_webhook_signature"]["properties"]["webhook_event"] = {"$ref": "#/components/schemas/event_as_request"}
    return spec


# -- loading ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def load_document(name: str) -> dict:
    """Parse and normalise one provider document (cached for the whole test session)."""
    path = specs_dir() / SPEC_FILES[name]
    with path.open("rb") as fh:
        raw = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return normalise_spec(name, raw)


@functools.lru_cache(maxsize=None)
def load_spec(name: str) -> OpenAPI:
    # The documents are published, unmodified and large: skip re-validating the document itself.
    return OpenAPI.from_dict(load_document(name), config=Config(spec_validator_cls=None))


def server_url(name: str) -> str:
    return load_document(name)["servers"][0]["url"].rstrip("/")


# -- httpx adapters -----------------------------------------------------------------------------


class HttpxOpenAPIRequest:
    """An httpx.Request seen as if it had been sent to the documented server host."""

    def __init__(self, request: httpx.Request, host_url: str):
        self._request = request
        self.host_url = host_url
        self.path = request.url.path
        self.method = request.method.lower()
        query = parse_qs(request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict({}),
        )

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "application/json").lower()


class HttpxOpenAPIResponse:
    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.content_type = response.headers.get("content-type", "").lower()
        self.data = response.content


class ContractViolation(AssertionError):
    """Traffic that does not conform to the provider's OpenAPI document."""


class SpecValidator:
    """Validates exchanges for one provider and remembers what it saw (for coverage asserts)."""

    def __init__(self, name: str):
        self.name = name
        self.openapi = load_spec(name)
        self.host_url = server_url(name)
        self.seen: list[tuple[str, str, int]] = []
        self.violations: list[str] = []

    def check_request(self, request: httpx.Request) -> None:
        try:
            self.openapi.validate_request(HttpxOpenAPIRequest(request, self.host_url))
        except Exception as exc:  # openapi-core raises several unrelated types
            self._fail(f"{request.method} {request.url.path}: request: {_describe(exc)}")

    def check_exchange(self, request: httpx.Request, response: httpx.Response) -> None:
        try:
            self.openapi.validate_response(
                HttpxOpenAPIRequest(request, self.host_url), HttpxOpenAPIResponse(response)
            )
        except Exception as exc:
            self._fail(
                f"{request.method} {request.url.path} -> {response.status_code}: response: {_describe(exc)}"
                f"; body={response.content[:300]!r}"
            )
        self.seen.append((request.method, request.url.path, response.status_code))

    def _fail(self, text: str) -> None:
        self.violations.append(text)
        raise ContractViolation(text)

    def hooks(self) -> dict[str, list]:
        """httpx event hooks validating every request sent and every response received."""

        async def on_request(request: httpx.Request) -> None:
            self.check_request(request)

        async def on_response(response: httpx.Response) -> None:
            await response.aread()
            self.check_exchange(response.request, response)

        return {"request": [on_request], "response": [on_response]}


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    for sub in getattr(exc, "schema_errors", None) or getattr(exc, "errors", None) or []:
        parts.append(str(getattr(sub, "message", sub))[:300])
    cause = exc.__cause__
    if cause is not None:
        parts.append(_describe(cause))
    return " | ".join(parts)[:2000]


# Rule 3 (PayPal): the OAuth token endpoint is in no document; it is checked by hand here
# (client credentials in Basic auth, form body, bearer token with expires_in in the answer).
PAYPAL_TOKEN_PATH = "/v1/oauth2/token"


def _check_paypal_token(request: httpx.Request, response: httpx.Response | None) -> None:
    if response is None:
        form = parse_qs(request.content.decode())
        if request.method != "POST" or form.get("grant_type") != ["client_credentials"] \
                or not request.headers.get("authorization", "").startswith("Basic ") \
                or "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise ContractViolation(f"OAuth token request is not a client-credentials form post: {form}")
        return
    body = response.json()
    if response.is_success and not (isinstance(body.get("access_token"), str) and body.get("token_type") == "Bearer"
                                    and isinstance(body.get("expires_in"), int)):
        raise ContractViolation(f"OAuth token response lacks access_token/token_type/expires_in: {body}")
    if not response.is_success and not isinstance(body.get("error"), str):
        raise ContractViolation(f"OAuth error response lacks error: {body}")


class PayPalValidator:
    """Validates PayPal traffic: each path against the one of the three PayPal documents that
    describes it (orders, payments, webhooks); a path in none of them fails."""

    PREFIXES = (("/v2/checkout/", "paypal_orders"), ("/v2/payments/", "paypal_payments"),
                ("/v1/notifications/", "paypal_webhooks"))

    def __init__(self) -> None:
        self.validators = {name: SpecValidator(name) for _, name in self.PREFIXES}
        self.seen: list[tuple[str, str, int]] = []
        self.violations: list[str] = []

    def reset(self) -> None:
        self.seen.clear()
        self.violations.clear()
        for v in self.validators.values():
            v.seen.clear()
            v.violations.clear()

    def _for(self, path: str) -> SpecValidator:
        for prefix, name in self.PREFIXES:
            if path.startswith(prefix):
                return self.validators[name]
        text = f"{path}: no PayPal document describes this path"
        self.violations.append(text)
        raise ContractViolation(text)

    def check_request(self, request: httpx.Request) -> None:
        if request.url.path == PAYPAL_TOKEN_PATH:
            _check_paypal_token(request, None)
            return
        v = self._for(request.url.path)
        try:
            v.check_request(request)
        except ContractViolation as exc:
            self.violations.append(str(exc))
            raise

    def check_exchange(self, request: httpx.Request, response: httpx.Response) -> None:
        if request.url.path == PAYPAL_TOKEN_PATH:
            _check_paypal_token(request, response)
        else:
            v = self._for(request.url.path)
            try:
                v.check_exchange(request, response)
            except ContractViolation as exc:
                self.violations.append(str(exc))
                raise
        self.seen.append((request.method, request.url.path, response.status_code))

    def hooks(self) -> dict[str, list]:
        async def on_request(request: httpx.Request) -> None:
            self.check_request(request)

        async def on_response(response: httpx.Response) -> None:
            await response.aread()
            self.check_exchange(response.request, response)

        return {"request": [on_request], "response": [on_response]}


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)
