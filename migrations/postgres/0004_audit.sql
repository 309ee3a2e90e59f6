-- The audit trail, read by action (`GET /api/v1/audit?action=…`, `zegel
-- audit --action …`): an index that also gives the page order. Mirrors
-- sqlite/0004_audit.sql. The trail stays append-only (0001's triggers).
create index audit_entry_action on audit_entry (action, audit_id);
