-- zegel storage schema, SQLite. Mirrors postgres/0001_initial.sql; what each
-- table holds and what must never change: migrations/README.md. Released
-- migrations are never edited. STRICT tables: values keep their declared type.
-- Timestamps are RFC 3339 TEXT in UTC (sqlx's chrono encoding), which sorts
-- in time order.

create table api_client (
    client_id   text primary key,
    name        text not null,
    token_hash  text not null unique,
    token_hint  text not null,
    scopes      text not null, -- JSON array of strings
    created_at  text not null,
    revoked_at  text
) strict;

create table achievement (
    achievement_id        text primary key,
    current_version       integer not null check (current_version >= 1),
    edubadges_badgeclass  text,
    created_at            text not null,
    updated_at            text not null,
    -- Deferred: the achievement row and its first version are written in
    -- one transaction, in that order.
    foreign key (achievement_id, current_version) references achievement_version (achievement_id, version)
        deferrable initially deferred
) strict;

create table achievement_version (
    achievement_id  text not null references achievement (achievement_id),
    version         integer not null check (version >= 1),
    definition      text not null,
    created_at      text not null,
    -- Changed only while no award refers to this version.
    updated_at      text not null,
    primary key (achievement_id, version)
) strict;

create table achievement_course_code (
    course_code     text primary key,
    achievement_id  text not null references achievement (achievement_id)
) strict;
create index achievement_course_code_achievement on achievement_course_code (achievement_id);

create table status_list (
    status_list_id  integer primary key autoincrement,
    purpose         text not null,
    list_size       integer not null check (list_size > 0),
    reserved        integer not null default 0 check (reserved >= 0 and reserved <= list_size),
    created_at      text not null,
    closed_at       text
) strict;
create unique index status_list_open_purpose on status_list (purpose) where closed_at is null;

create table status_slot (
    status_list_id  integer not null references status_list (status_list_id),
    status_index    integer not null check (status_index >= 0),
    reserved_at     text not null,
    primary key (status_list_id, status_index)
) strict, without rowid;

create table award (
    award_id             text primary key,
    client_id            text not null references api_client (client_id),
    source_record_id     text not null unique,
    request_hash         text not null,
    achievement_id       text not null,
    achievement_version  integer not null,
    record               text not null, -- JSON: the validated award record
    credential_id        text not null unique,
    created_at           text not null,
    push_state           text not null,
    foreign key (achievement_id, achievement_version) references achievement_version (achievement_id, version)
) strict;
create index award_achievement_version on award (achievement_id, achievement_version);
create index award_client on award (client_id);

create table credential (
    credential_id   text primary key,
    award_id        text not null unique references award (award_id),
    document        text not null,
    jwt             text not null,
    issued_at       text not null,
    status_list_id  integer not null,
    status_index    integer not null,
    unique (status_list_id, status_index),
    foreign key (status_list_id, status_index) references status_slot (status_list_id, status_index)
) strict;

create table audit_entry (
    -- autoincrement: ids are never reused, so they order the trail.
    audit_id        integer primary key autoincrement,
    at              text not null,
    actor           text not null,
    action          text not null,
    award_id        text,
    credential_id   text,
    achievement_id  text,
    client_id       text,
    details         text -- JSON; never secrets or learner data
) strict;
create index audit_entry_award on audit_entry (award_id) where award_id is not null;
create index audit_entry_credential on audit_entry (credential_id) where credential_id is not null;
create index audit_entry_achievement on audit_entry (achievement_id) where achievement_id is not null;
create index audit_entry_client on audit_entry (client_id) where client_id is not null;
create index audit_entry_at on audit_entry (at);

create table outbox_job (
    job_id           integer primary key autoincrement,
    kind             text not null,
    award_id         text not null references award (award_id),
    state            text not null check (state in ('pending', 'running', 'done', 'failed')),
    attempts         integer not null default 0 check (attempts >= 0),
    next_attempt_at  text not null,
    created_at       text not null
) strict;
create index outbox_job_due on outbox_job (state, next_attempt_at);
create index outbox_job_award on outbox_job (award_id);
create unique index outbox_job_one_award_push on outbox_job (award_id) where kind = 'edubadges_award';

-- Immutability, enforced by the database rather than by convention.
create trigger audit_entry_no_update before update on audit_entry
begin
    select raise(abort, 'audit_entry is append-only: UPDATE refused');
end;
create trigger audit_entry_no_delete before delete on audit_entry
begin
    select raise(abort, 'audit_entry is append-only: DELETE refused');
end;
create trigger credential_no_update before update on credential
begin
    select raise(abort, 'credential is append-only: UPDATE refused');
end;
create trigger credential_no_delete before delete on credential
begin
    select raise(abort, 'credential is append-only: DELETE refused');
end;
