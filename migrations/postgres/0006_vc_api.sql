-- Credentials issued through the W3C VC-API (`POST /credentials/issue`):
-- any VC 2.0 or VC 1.1 credential an API client submits, signed by zegel's
-- issuer. Mirrors sqlite/0006_vc_api.sql. (0005 is the import jobs'.)

-- The signed credential exactly as answered, and its status slots from
-- zegel's own status lists (the same lists as the Open Badges credentials:
-- a slot is bound to one credential of either table). Never updated or
-- deleted (triggers refuse it).
create table vc_credential (
    -- zegel's own id (a UUID); the world does not see it.
    vc_credential_id    text primary key,
    -- How `POST /credentials/status` names it: the issue request's
    -- `options.credentialId`, else the credential's `id`; absent when it had
    -- neither. Not unique: the same credential may be issued again.
    credential_id       text,
    client_id           text not null references api_client (client_id),
    document            text not null,
    issued_at           timestamptz not null,
    -- Absent when the credential was issued without such a status entry.
    status_list_id      bigint,
    status_index        bigint,
    suspension_list_id  bigint,
    suspension_index    bigint,
    constraint vc_credential_status_slot_key unique (status_list_id, status_index),
    constraint vc_credential_suspension_slot_key unique (suspension_list_id, suspension_index),
    foreign key (status_list_id, status_index) references status_slot (status_list_id, status_index),
    foreign key (suspension_list_id, suspension_index) references status_slot (status_list_id, status_index),
    check ((status_list_id is null) = (status_index is null)),
    check ((suspension_list_id is null) = (suspension_index is null))
);
create index vc_credential_credential_id on vc_credential (credential_id) where credential_id is not null;
create index vc_credential_status_list on vc_credential (status_list_id) where status_list_id is not null;
create index vc_credential_suspension_list on vc_credential (suspension_list_id)
    where suspension_list_id is not null;
create trigger vc_credential_immutable before update or delete on vc_credential
    for each row execute function zegel_refuse_change();
create trigger vc_credential_no_truncate before truncate on vc_credential
    for each statement execute function zegel_refuse_change();

-- What happened to such a credential after it was issued, as
-- credential_state is for Open Badges: no row means active; revocation is
-- set once and never cleared, suspension set and cleared. The history is in
-- audit_entry.
create table vc_credential_state (
    vc_credential_id   text primary key references vc_credential (vc_credential_id),
    revoked_at         timestamptz,
    revocation_reason  text,
    suspended_at       timestamptz,
    suspension_reason  text,
    updated_at         timestamptz not null,
    check ((revoked_at is null) = (revocation_reason is null)),
    check ((suspended_at is null) = (suspension_reason is null))
);
