-- Credential lifecycle: revocation, suspension, reissue and the Edubadges
-- withdrawals they cause. Mirrors postgres/0003_lifecycle.sql.

-- A reissued award has several credentials (the current one is
-- award.credential_id), so credential.award_id is no longer unique. New
-- credentials also carry a suspension status slot and name the credential
-- they supersede. SQLite cannot drop a constraint: the table is rebuilt
-- (no table references it). The signed bytes are copied unchanged.
drop trigger credential_no_update;
drop trigger credential_no_delete;
create table credential_rebuilt (
    credential_id       text primary key,
    award_id            text not null references award (award_id),
    document            text not null,
    jwt                 text not null,
    issued_at           text not null,
    status_list_id      integer not null,
    status_index        integer not null,
    -- Absent on credentials issued without a suspension entry.
    suspension_list_id  integer,
    suspension_index    integer,
    -- The credential this one replaced (a reissue); at most one successor each.
    supersedes          text,
    unique (status_list_id, status_index),
    unique (suspension_list_id, suspension_index),
    foreign key (status_list_id, status_index) references status_slot (status_list_id, status_index),
    foreign key (suspension_list_id, suspension_index) references status_slot (status_list_id, status_index),
    check ((suspension_list_id is null) = (suspension_index is null))
) strict;
insert into credential_rebuilt (credential_id, award_id, document, jwt, issued_at, status_list_id, status_index)
    select credential_id, award_id, document, jwt, issued_at, status_list_id, status_index from credential;
drop table credential;
alter table credential_rebuilt rename to credential;
create index credential_award on credential (award_id);
create unique index credential_supersedes on credential (supersedes) where supersedes is not null;
create trigger credential_no_update before update on credential
begin
    select raise(abort, 'credential is append-only: UPDATE refused');
end;
create trigger credential_no_delete before delete on credential
begin
    select raise(abort, 'credential is append-only: DELETE refused');
end;

-- What happened to a credential after it was issued. A row exists only once
-- something did; its absence means "active". The history is in audit_entry.
create table credential_state (
    credential_id      text primary key references credential (credential_id),
    revoked_at         text,
    revocation_reason  text,
    suspended_at       text,
    suspension_reason  text,
    superseded_by      text,
    updated_at         text not null,
    check ((revoked_at is null) = (revocation_reason is null)),
    check ((suspended_at is null) = (suspension_reason is null))
) strict;
create index credential_state_revoked on credential_state (credential_id) where revoked_at is not null;
create index credential_state_suspended on credential_state (credential_id) where suspended_at is not null;

-- When a list's bits last changed: instances compare it with the copy they
-- serve, so a change is published within the configured delay everywhere.
alter table status_list add column changed_at text;

-- Work an outbox job carries beyond its kind (JSON): the reason for a
-- withdrawal, and whether the award is sent again afterwards (a reissue).
alter table outbox_job add column payload text;
-- At most one withdrawal of an award waiting or running at a time.
create unique index outbox_job_one_award_withdraw on outbox_job (award_id)
    where kind = 'edubadges_withdraw' and state in ('pending', 'running');
