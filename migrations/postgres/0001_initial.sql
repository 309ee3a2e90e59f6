-- zegel storage schema, PostgreSQL. What each table holds and what must never
-- change: migrations/README.md. Released migrations are never edited.

-- API clients (SIS integrations, admin tools). Only a hash of the token is kept.
create table api_client (
    client_id   text primary key,
    name        text not null,
    token_hash  text not null constraint api_client_token_hash_key unique,
    token_hint  text not null,
    scopes      text not null, -- JSON array of strings
    created_at  timestamptz not null,
    revoked_at  timestamptz
);

-- Microcredential definitions; the definition itself is versioned below.
create table achievement (
    achievement_id        text primary key,
    current_version       bigint not null check (current_version >= 1),
    edubadges_badgeclass  text,
    created_at            timestamptz not null,
    updated_at            timestamptz not null
);

create table achievement_version (
    achievement_id  text not null references achievement (achievement_id),
    version         bigint not null check (version >= 1),
    definition      text not null,
    created_at      timestamptz not null,
    -- Changed only while no award refers to this version.
    updated_at      timestamptz not null,
    primary key (achievement_id, version)
);

-- Deferred: the achievement row and its first version are written in one
-- transaction, in that order.
alter table achievement add constraint achievement_current_version_fkey
    foreign key (achievement_id, current_version) references achievement_version (achievement_id, version)
    deferrable initially deferred;

-- Each SIS course code maps to at most one achievement.
create table achievement_course_code (
    course_code     text primary key,
    achievement_id  text not null references achievement (achievement_id)
);
create index achievement_course_code_achievement on achievement_course_code (achievement_id);

-- Bitstring Status Lists. One open list per purpose takes new reservations;
-- it is closed once 90 % reserved and a new one (higher id) is opened.
create table status_list (
    status_list_id  bigint generated always as identity primary key,
    purpose         text not null,
    list_size       bigint not null check (list_size > 0),
    reserved        bigint not null default 0 check (reserved >= 0 and reserved <= list_size),
    created_at      timestamptz not null,
    closed_at       timestamptz
);
create unique index status_list_open_purpose on status_list (purpose) where closed_at is null;

-- A reserved position; bound to a credential by credential.status_*.
create table status_slot (
    status_list_id  bigint not null references status_list (status_list_id),
    status_index    bigint not null check (status_index >= 0),
    reserved_at     timestamptz not null,
    primary key (status_list_id, status_index)
);

-- One award per SIS record (source_record_id is the idempotency key).
create table award (
    award_id             text primary key,
    client_id            text not null references api_client (client_id),
    source_record_id     text not null constraint award_source_record_id_key unique,
    request_hash         text not null,
    achievement_id       text not null,
    achievement_version  bigint not null,
    record               text not null, -- JSON: the validated award record
    credential_id        text not null constraint award_credential_id_key unique,
    created_at           timestamptz not null,
    push_state           text not null,
    foreign key (achievement_id, achievement_version) references achievement_version (achievement_id, version)
);
create index award_achievement_version on award (achievement_id, achievement_version);
create index award_client on award (client_id);

-- The signed credential, byte for byte as served. Never updated or deleted.
create table credential (
    credential_id   text primary key,
    award_id        text not null constraint credential_award_id_key unique references award (award_id),
    document        text not null,
    jwt             text not null,
    issued_at       timestamptz not null,
    status_list_id  bigint not null,
    status_index    bigint not null,
    constraint credential_status_slot_key unique (status_list_id, status_index),
    foreign key (status_list_id, status_index) references status_slot (status_list_id, status_index)
);

-- Append-only trail of every change. Never updated or deleted.
create table audit_entry (
    audit_id        bigint generated always as identity primary key,
    at              timestamptz not null,
    actor           text not null,
    action          text not null,
    award_id        text,
    credential_id   text,
    achievement_id  text,
    client_id       text,
    details         text -- JSON; never secrets or learner data
);
create index audit_entry_award on audit_entry (award_id) where award_id is not null;
create index audit_entry_credential on audit_entry (credential_id) where credential_id is not null;
create index audit_entry_achievement on audit_entry (achievement_id) where achievement_id is not null;
create index audit_entry_client on audit_entry (client_id) where client_id is not null;
create index audit_entry_at on audit_entry (at);

-- Work for the push worker, written in the transaction that makes it necessary.
create table outbox_job (
    job_id           bigint generated always as identity primary key,
    kind             text not null,
    award_id         text not null references award (award_id),
    state            text not null check (state in ('pending', 'running', 'done', 'failed')),
    attempts         bigint not null default 0 check (attempts >= 0),
    next_attempt_at  timestamptz not null,
    created_at       timestamptz not null
);
create index outbox_job_due on outbox_job (state, next_attempt_at);
create index outbox_job_award on outbox_job (award_id);
-- An award is pushed once.
create unique index outbox_job_one_award_push on outbox_job (award_id) where kind = 'edubadges_award';

-- Immutability, enforced by the database rather than by convention.
create function zegel_refuse_change() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op
        using errcode = 'restrict_violation';
end
$$;

create trigger audit_entry_append_only before update or delete on audit_entry
    for each row execute function zegel_refuse_change();
create trigger audit_entry_no_truncate before truncate on audit_entry
    for each statement execute function zegel_refuse_change();
create trigger credential_immutable before update or delete on credential
    for each row execute function zegel_refuse_change();
create trigger credential_no_truncate before truncate on credential
    for each statement execute function zegel_refuse_change();
