"""SQL implementations of the services' repositories, one module per feature, all on the
unit of work's one connection (``engine.SqlUnitOfWork`` builds them)."""

from privline.adapters.db.repositories.accounts import SqlAccounts
from privline.adapters.db.repositories.audit import SqlAudit
from privline.adapters.db.repositories.calls import SqlCalls
from privline.adapters.db.repositories.facilities import SqlBlocks, SqlFacilities, SqlResidents
from privline.adapters.db.repositories.phones import SqlPhones
from privline.adapters.db.repositories.portal import SqlPortal
from privline.adapters.db.repositories.records import SqlRecords
from privline.adapters.db.repositories.registry import SqlRegistry
from privline.adapters.db.repositories.users import (
    SqlSessions,
    SqlSigninFailures,
    SqlTokens,
    SqlUsers,
)
from privline.adapters.db.repositories.vault import (
    SqlDisclosures,
    SqlIncidents,
    SqlLegalHolds,
    SqlRecordings,
    SqlUserFacilities,
    SqlVaultSettings,
)

__all__ = [
    "SqlAccounts",
    "SqlAudit",
    "SqlBlocks",
    "SqlPhones",
    "SqlCalls",
    "SqlDisclosures",
    "SqlFacilities",
    "SqlIncidents",
    "SqlLegalHolds",
    "SqlPortal",
    "SqlRecordings",
    "SqlRecords",
    "SqlRegistry",
    "SqlResidents",
    "SqlUserFacilities",
    "SqlSessions",
    "SqlSigninFailures",
    "SqlTokens",
    "SqlUsers",
    "SqlVaultSettings",
]
