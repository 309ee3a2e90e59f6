-- Import jobs (`POST /api/v1/imports`, `zegel import`): the uploaded file is
-- kept with the job so that any instance can resume it after a restart, and
-- each row's outcome is written with the chunk that issued it. Mirrors
-- sqlite/0005_imports.sql.
create table import_job (
    import_id       text primary key,
    seq             bigint generated always as identity unique,  -- the order jobs were made in
    client_id       text not null references api_client (client_id),
    format          text not null check (format in ('csv', 'ooapi')),
    filename        text,
    achievement_id  text,    -- for rows that name no microcredential
    eppn_rule       text,    -- OOAPI: where a person's eppn is
    dry_run         boolean not null,
    state           text not null check (state in ('queued', 'running', 'done', 'failed')),
    total_rows      bigint not null,
    rows_done       bigint not null default 0,
    created         bigint not null default 0,
    existing        bigint not null default 0,
    refused         bigint not null default 0,
    skipped         bigint not null default 0,
    would_create    bigint not null default 0,
    source          bytea not null,
    error           text,
    attempts        bigint not null default 0,
    lease_until     timestamptz,
    created_at      timestamptz not null,
    started_at      timestamptz,
    finished_at     timestamptz
);
create index import_job_due on import_job (state, lease_until);

create table import_row (
    import_id  text not null references import_job (import_id),
    row_index  bigint not null,
    place      text not null,   -- `line 4` (CSV) or `item 3` (OOAPI)
    record_id  text not null,
    result     text not null check (result in ('created', 'existing', 'refused', 'skipped', 'would_create')),
    award_id   text,
    problems   text not null,   -- JSON: [{"field", "message"}]
    primary key (import_id, row_index)
);
create index import_row_result on import_row (import_id, result, row_index);
