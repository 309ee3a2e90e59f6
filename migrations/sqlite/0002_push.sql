-- The Edubadges push: leases and errors on outbox jobs, and the delivery
-- ledger (what was sent where). Mirrors postgres/0002_push.sql.

-- A running job belongs to its worker until `lease_until`; after that (the
-- worker died) another worker may take it up. The value also identifies
-- the claim: a worker records an outcome only while the lease is its own.
alter table outbox_job add column lease_until text;
alter table outbox_job add column last_attempt_at text;
alter table outbox_job add column last_error text;
create index outbox_job_lease on outbox_job (lease_until) where state = 'running';

-- One row per award that zegel has tried to deliver to Edubadges. Written
-- (state 'sending') and committed BEFORE the request that creates the
-- direct award, so that after a lost answer or a crash zegel knows it must
-- look in Edubadges before sending again: Edubadges has no idempotency key.
create table edubadges_delivery (
    award_id         text primary key references award (award_id),
    badgeclass       text not null,
    identifier_type  text not null check (identifier_type in ('eppn', 'email')),
    -- The eppn or e-mail address the direct award is keyed on, lower case.
    recipient        text not null,
    state            text not null check (state in ('unsent', 'sending', 'sent', 'claimed', 'withdrawn')),
    bundle_id        text,
    direct_award_id  text,
    assertion_id     text,
    sent_at          text,
    claimed_at       text,
    updated_at       text not null
) strict;
create index edubadges_delivery_bundle on edubadges_delivery (bundle_id) where bundle_id is not null;
create index edubadges_delivery_direct_award on edubadges_delivery (direct_award_id) where direct_award_id is not null;
create index edubadges_delivery_badgeclass on edubadges_delivery (badgeclass, recipient);

create index award_push_state on award (push_state, created_at);
