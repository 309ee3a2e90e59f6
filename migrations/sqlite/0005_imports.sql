-- Import jobs (`POST /api/v1/imports`, `zegel import`): the uploaded file is
-- kept with the job so that any instance can resume it after a restart, and
-- each row's outcome is written with the chunk that issued it. Mirrors
-- postgres/0005_imports.sql.
create table import_job (
    import_id       text primary key,
    seq             integer not null unique,  -- the order jobs were made in
    client_id       text not null references api_client (client_id),
    format          text not null check (format in ('csv', 'ooapi')),
    filename        text,
    achievement_id  text,    -- for rows that name no microcredential
    eppn_rule       text,    -- OOAPI: where a person's eppn is
    dry_run         integer not null check (dry_run in (0, 1)),
    state           text not null check (state in ('queued', 'running', 'done', 'failed')),
    total_rows      integer not null,
    rows_done       integer not null default 0,
    created         integer not null default 0,
    existing        integer not null default 0,
    refused         integer not null default 0,
    skipped         integer not null default 0,
    would_create    integer not null default 0,
    source          blob not null,
    error           text,
    attempts        integer not null default 0,
    lease_until     text,
    created_at      text not null,
    started_at      text,
    finished_at     text
) strict;
create index import_job_due on import_job (state, lease_until);

create table import_row (
    import_id  text not null references import_job (import_id),
    row_index  integer not null,
    place      text not null,   -- `line 4` (CSV) or `item 3` (OOAPI)
    record_id  text not null,
    result     text not null check (result in ('created', 'existing', 'refused', 'skipped', 'would_create')),
    award_id   text,
    problems   text not null,   -- JSON: [{"field", "message"}]
    primary key (import_id, row_index)
) strict;
create index import_row_result on import_row (import_id, result, row_index);
