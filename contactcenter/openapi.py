"""The OpenAPI 3 document served at /api/openapi.json. A test checks it covers every /api route."""

from __future__ import annotations

from typing import Any

from contactcenter import __version__
from contactcenter.http_api import CustomerPatch, LinkRequest, LoginRequest, NewCustomerRequest

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid request",
        401: "Not authenticated",
        403: "Role not allowed",
        404: "Not found",
        409: "Conflicts with another record (phone or account number taken)",
        503: "Not available on this server",
    }
    return {str(code): _json(_ERROR, text[code]) for code in codes}


_SECURED: list[dict[str, list[str]]] = [{"bearer": []}]
_CUSTOMER_ID = {
    "name": "customer_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}


def _body(schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def build_openapi() -> dict[str, Any]:
    call = {"$ref": "#/components/schemas/Call"}
    customer = {"$ref": "#/components/schemas/Customer"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "contactcenter", "version": __version__},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "string"},
                        "field": {"type": "string", "nullable": True},
                    },
                    "required": ["error"],
                },
                "LoginRequest": LoginRequest.model_json_schema(),
                "NewCustomer": NewCustomerRequest.model_json_schema(),
                "CustomerPatch": CustomerPatch.model_json_schema(),
                "LinkRequest": LinkRequest.model_json_schema(),
                "User": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "username": {"type": "string"},
                        "display_name": {"type": "string"},
                        "role": {
                            "type": "string",
                            "enum": ["agent", "supervisor", "manager", "admin"],
                        },
                        "agent_id": {"type": "string"},
                        "endpoint": {"type": "string", "nullable": True},
                        "skills": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Customer": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "phones": {"type": "array", "items": {"type": "string"}},
                        "account_number": {"type": "string", "nullable": True},
                        "value_tier": {
                            "type": "string",
                            "enum": ["standard", "silver", "gold", "platinum"],
                        },
                        "notes": {"type": "string"},
                    },
                },
                "Call": {
                    "type": "object",
                    "description": "One row of the call history (facts: docs/metrics.md).",
                    "properties": {
                        **{
                            k: {"type": "string", "nullable": True}
                            for k in (
                                "id",
                                "direction",
                                "caller_number",
                                "dialed_number",
                                "queue_id",
                                "agent_id",
                                "outcome",
                                "disposition",
                                "note",
                            )
                        },
                        **{
                            k: {"type": "number", "nullable": True}
                            for k in (
                                "arrived_at",
                                "queued_at",
                                "offered_at",
                                "answered_at",
                                "ended_at",
                                "wait_s",
                                "talk_s",
                                "hold_s",
                                "wrap_s",
                            )
                        },
                        "customer_id": {"type": "integer", "nullable": True},
                        "transferred": {"type": "integer"},
                        "priority": {"type": "integer"},
                        "ivr_path": {"type": "array", "items": {"type": "string"}},
                        "recording": {
                            "type": "string",
                            "nullable": True,
                            "description": "file name of the call's recording on the PBX "
                            "(MixMonitor, in Asterisk's monitor directory); null if not recorded",
                        },
                    },
                },
            },
        },
        "paths": {
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3 document"}},
                }
            },
            "/api/auth/login": {
                "post": {
                    "summary": "Log in and get a bearer token",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/LoginRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "token": {"type": "string"},
                                    "user": {"$ref": "#/components/schemas/User"},
                                },
                            },
                            "Logged in",
                        ),
                        **_errors(400, 401),
                    },
                }
            },
            "/api/me": {
                "get": {
                    "summary": "The logged-in user",
                    "security": _SECURED,
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/User"}, "The user"),
                        **_errors(401),
                    },
                }
            },
            "/api/customers": {
                "get": {
                    "summary": "Search customers by name, phone or account number",
                    "security": _SECURED,
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 200,
                                "default": 20,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"customers": {"type": "array", "items": customer}},
                            },
                            "Matches",
                        ),
                        **_errors(400, 401),
                    },
                },
                "post": {
                    "summary": "Create a customer (audited: who and each field set)",
                    "security": _SECURED,
                    "requestBody": _body("NewCustomer"),
                    "responses": {
                        "201": _json(customer, "The new customer"),
                        **_errors(400, 401, 409),
                    },
                },
            },
            "/api/customers/{customer_id}": {
                "get": {
                    "summary": "One customer record",
                    "security": _SECURED,
                    "parameters": [_CUSTOMER_ID],
                    "responses": {"200": _json(customer, "The customer"), **_errors(400, 401, 404)},
                },
                "patch": {
                    "summary": "Change some fields (one audit row per changed field)",
                    "security": _SECURED,
                    "parameters": [_CUSTOMER_ID],
                    "requestBody": _body("CustomerPatch"),
                    "responses": {
                        "200": _json(customer, "The changed customer"),
                        **_errors(400, 401, 404, 409),
                    },
                },
            },
            "/api/customers/{customer_id}/audit": {
                "get": {
                    "summary": "Every recorded change of the customer, oldest first",
                    "security": _SECURED,
                    "parameters": [_CUSTOMER_ID],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "audit": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "user": {"type": "string", "nullable": True},
                                                "at": {"type": "number"},
                                                "field": {"type": "string"},
                                                "old": {"type": "string", "nullable": True},
                                                "new": {"type": "string", "nullable": True},
                                            },
                                        },
                                    }
                                },
                            },
                            "Audit trail",
                        ),
                        **_errors(400, 401, 404),
                    },
                }
            },
            "/api/customers/{customer_id}/history": {
                "get": {
                    "summary": "The customer's calls, newest first",
                    "security": _SECURED,
                    "parameters": [
                        _CUSTOMER_ID,
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 1000,
                                "default": 100,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "customer": customer,
                                    "calls": {"type": "array", "items": call},
                                },
                            },
                            "History",
                        ),
                        **_errors(400, 401, 404),
                    },
                }
            },
            "/api/calls/{call_id}": {
                "get": {
                    "summary": "One call of the history",
                    "security": _SECURED,
                    "parameters": [
                        {
                            "name": "call_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": _json(call, "The call"), **_errors(401, 404)},
                }
            },
            "/api/calls/{call_id}/customer": {
                "post": {
                    "summary": "Link a ringing, connected or wrapping-up call to a customer "
                    "(an agent: only their own call)",
                    "security": _SECURED,
                    "parameters": [
                        {
                            "name": "call_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": _body("LinkRequest"),
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "call": call,
                                    "customer": customer,
                                    "history": {"type": "array", "items": call},
                                },
                            },
                            "The call and the customer's screen pop",
                        ),
                        **_errors(400, 401, 403, 404, 503),
                    },
                }
            },
            "/api/supervisor/audit": {
                "get": {
                    "summary": "The latest supervisor actions, newest first",
                    "security": _SECURED,
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 1000,
                                "default": 100,
                            },
                        }
                    ],
                    "responses": {
                        "200": _json({"type": "object"}, "Audit rows; see docs/api.md"),
                        **_errors(400, 401, 403, 503),
                    },
                }
            },
            "/api/queues": {
                "get": {
                    "summary": "Live figures per queue and agent (the wallboard snapshot)",
                    "security": _SECURED,
                    "responses": {
                        "200": _json({"type": "object"}, "Snapshot; see docs/realtime.md"),
                        **_errors(401, 403),
                    },
                }
            },
        },
    }
