-- Credential lifecycle: revocation, suspension, reissue and the Edubadges
-- withdrawals they cause. Mirrors sqlite/0003_lifecycle.sql.

-- A reissued award has several credentials (the current one is
-- award.credential_id), so credential.award_id is no longer unique. New
-- credentials also carry a suspension status slot and name the credential
-- they supersede.
alter table credential drop constraint credential_award_id_key;
alter table credential add column suspension_list_id bigint;
alter table credential add column suspension_index bigint;
alter table credential add column supersedes text;
alter table credential add constraint credential_suspension_slot_key unique (suspension_list_id, suspension_index);
alter table credential add constraint credential_suspension_slot_fkey
    foreign key (suspension_list_id, suspension_index) references status_slot (status_list_id, status_index);
alter table credential add constraint credential_suspension_pair
    check ((suspension_list_id is null) = (suspension_index is null));
create index credential_award on credential (award_id);
create unique index credential_supersedes on credential (supersedes) where supersedes is not null;

-- What happened to a credential after it was issued. A row exists only once
-- something did; its absence means "active". The history is in audit_entry.
create table credential_state (
    credential_id      text primary key references credential (credential_id),
    revoked_at         timestamptz,
    revocation_reason  text,
    suspended_at       timestamptz,
    suspension_reason  text,
    superseded_by      text,
    updated_at         timestamptz not null,
    check ((revoked_at is null) = (revocation_reason is null)),
    check ((suspended_at is null) = (suspension_reason is null))
);
create index credential_state_revoked on credential_state (credential_id) where revoked_at is not null;
create index credential_state_suspended on credential_state (credential_id) where suspended_at is not null;

-- When a list's bits last changed: instances compare it with the copy they
-- serve, so a change is published within the configured delay everywhere.
alter table status_list add column changed_at timestamptz;

-- Work an outbox job carries beyond its kind (JSON): the reason for a
-- withdrawal, and whether the award is sent again afterwards (a reissue).
alter table outbox_job add column payload text;
-- At most one withdrawal of an award waiting or running at a time.
create unique index outbox_job_one_award_withdraw on outbox_job (award_id)
    where kind = 'edubadges_withdraw' and state in ('pending', 'running');
