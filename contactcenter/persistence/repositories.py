"""The SQL repositories, one module each; imported together from here."""

from __future__ import annotations

from contactcenter.persistence.agent_states import SqlAgentStateLogRepository
from contactcenter.persistence.calls import SqlCallRepository
from contactcenter.persistence.customers import CustomerEdit, SqlCustomerRepository
from contactcenter.persistence.users import SqlUserRepository

__all__ = [
    "CustomerEdit",
    "SqlAgentStateLogRepository",
    "SqlCallRepository",
    "SqlCustomerRepository",
    "SqlUserRepository",
]
