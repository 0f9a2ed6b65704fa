"""The callbacks part of the OpenAPI document (routes in contactcenter/http_callbacks.py)."""

from __future__ import annotations

from typing import Any

from contactcenter.callbacks import CallbackState
from contactcenter.http_callbacks import CallbackRequestBody

_ERROR = {"$ref": "#/components/schemas/Error"}
_CALLBACK = {"$ref": "#/components/schemas/Callback"}
_ID = {"name": "callback_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(**codes: str) -> dict[str, Any]:
    return {code.lstrip("e"): _json(_ERROR, text) for code, text in codes.items()}


CALLBACK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "string", "description": "normalised: digits, optional leading +"},
        "customer_id": {"type": "integer", "nullable": True},
        "queue_id": {"type": "string"},
        "source": {"type": "string", "enum": ["web", "agent", "virtual_hold"]},
        "requested_by": {"type": "string", "nullable": True},
        "requested_at": {"type": "number", "description": "epoch seconds"},
        "due_at": {"type": "number", "description": "epoch seconds: the next attempt"},
        "place_at": {"type": "number", "description": "its place in the queue (epoch s)"},
        "priority": {"type": "integer"},
        "note": {"type": "string"},
        "state": {"type": "string", "enum": [s.value for s in CallbackState]},
        "attempts": {"type": "integer"},
        "origin_call_id": {"type": "string", "nullable": True},
        "last_call_id": {"type": "string", "nullable": True},
        "last_outcome": {"type": "string", "nullable": True},
    },
}


def add_callback_paths(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the callback routes and schemas to the OpenAPI document `doc` (in place)."""
    schemas = doc["components"]["schemas"]
    schemas["Callback"] = CALLBACK_SCHEMA
    schemas["CallbackRequest"] = CallbackRequestBody.model_json_schema()
    schemes = doc["components"]["securitySchemes"]
    schemes["webApiKey"] = {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    doc["paths"]["/api/callbacks"] = {
        "post": {
            "summary": "Request a callback (web site with X-Api-Key, or a signed-in user)",
            "security": [{"bearer": []}, {"webApiKey": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/CallbackRequest"}}
                },
            },
            "responses": {
                "201": _json(_CALLBACK, "The callback, scheduled"),
                **_errors(e400="Invalid request (field named)", e401="No valid token or key"),
            },
        },
        "get": {
            "summary": "Callbacks, soonest due first (agents: only their own)",
            "security": [{"bearer": []}],
            "parameters": [
                {
                    "name": "state",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "comma-separated states",
                },
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"callbacks": {"type": "array", "items": _CALLBACK}},
                    },
                    "Callbacks",
                ),
                **_errors(e400="Invalid parameter", e401="Not authenticated"),
            },
        },
    }
    doc["paths"]["/api/callbacks/{callback_id}"] = {
        "parameters": [_ID],
        "get": {
            "summary": "One callback",
            "security": [{"bearer": []}],
            "responses": {
                "200": _json(_CALLBACK, "The callback"),
                **_errors(e401="Not authenticated", e404="No such callback (or not yours)"),
            },
        },
        "delete": {
            "summary": "Cancel a scheduled or queued callback",
            "security": [{"bearer": []}],
            "responses": {
                "200": _json(_CALLBACK, "The callback, cancelled"),
                **_errors(
                    e401="Not authenticated",
                    e404="No such callback (or not yours)",
                    e409="Already dialled, finished or cancelled",
                ),
            },
        },
    }
    return doc
