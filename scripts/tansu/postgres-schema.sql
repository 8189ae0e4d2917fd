-- The tables Tansu 0.6.0 needs on PostgreSQL (16 or newer), loaded once by
-- `scripts/broker.sh` into the private PostgreSQL of the local broker (BROKER_STORAGE=postgres).
-- Tansu does not create its schema itself, and its crate ships only the SQLite version.
--
-- Derived from the tansu-storage 0.6.0 crate (Apache-2.0, Copyright 2024-2025 Peter Morgan):
-- the tables, columns, keys and constraints of its `src/ddl/*.sql` (the SQLite/libSQL schema),
-- with the types translated to what its PostgreSQL engine (`src/pg.rs`) binds and reads:
--   integer primary key autoincrement  ->  int generated always as identity (bigint for
--                                          producer.id, which pg.rs reads as an i64)
--   datetime / text timestamps         ->  timestamptz
--   blob                               ->  bytea
--   offsets, producer ids              ->  bigint (i64); epochs and attributes: smallint (i16)
--   topic.uuid, consumer_group_detail.e_tag -> uuid; consumer_group_detail.detail -> jsonb
--   topic.is_internal                  ->  boolean
-- and two additions that the PostgreSQL queries of the crate need:
--   record.transaction_id xid8         `src/pg/record_fetch.sql` compares it with the
--                                      snapshot's xmin to tell committed records;
--   watermark unique (topition)        one watermark row per partition, which the queries
--                                      joining on it assume.
-- Exercised with the broker itself by the durable-storage tests of
-- crates/system-tests/tests/it/start_stop.rs: an idempotent producer (acks=all) and fetches, a
-- consumer group's offset commits and fetches, ListOffsets under read_committed, a restart
-- that keeps all of it, and a SIGKILL under load.
--
-- Licensed under the Apache License, Version 2.0: http://www.apache.org/licenses/LICENSE-2.0

begin;

create table if not exists cluster (
    id int generated always as identity primary key,
    name text not null unique,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null
);

create table if not exists consumer_group (
    id int generated always as identity primary key,
    cluster int references cluster (id) on delete cascade not null,
    name text not null,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (cluster, name)
);

-- non transactional idempotent producer
create table if not exists producer (
    id bigint generated always as identity primary key,
    cluster int references cluster (id) on delete cascade not null,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null
);

create table if not exists scram_credential (
    id int generated always as identity primary key,
    cluster int references cluster (id) on delete cascade not null,
    username text not null,
    mechanism int not null,
    salt bytea not null,
    iterations int not null,
    stored_key bytea not null,
    server_key bytea not null,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (cluster, username, mechanism)
);

create table if not exists topic (
    id int generated always as identity primary key,
    cluster int references cluster (id) on delete cascade not null,
    name text not null,
    uuid uuid not null,
    partitions int not null,
    replication_factor int not null,
    is_internal boolean default false not null,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (cluster, name)
);

create table if not exists consumer_group_detail (
    id int generated always as identity primary key,
    consumer_group int references consumer_group (id) on delete cascade,
    e_tag uuid not null,
    detail jsonb not null,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (consumer_group)
);

create table if not exists producer_epoch (
    id int generated always as identity primary key,
    producer bigint references producer (id) on delete cascade,
    epoch smallint default 0 not null,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (producer, epoch)
);

create table if not exists topic_configuration (
    id int generated always as identity primary key,
    topic int references topic (id) on delete cascade,
    name text not null,
    value text,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (topic, name)
);

create table if not exists topition (
    id int generated always as identity primary key,
    topic int references topic (id) on delete cascade,
    partition int,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (topic, partition)
);

-- transactional, including idempotent producer
create table if not exists txn (
    id int generated always as identity primary key,
    cluster int references cluster (id) on delete cascade,
    name text,
    producer bigint references producer (id) on delete cascade,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (cluster, name)
);

create table if not exists consumer_offset (
    id int generated always as identity primary key,
    consumer_group int references consumer_group (id) on delete cascade,
    topition int references topition (id) on delete cascade,
    committed_offset bigint,
    leader_epoch int,
    timestamp timestamptz,
    metadata text,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (consumer_group, topition)
);

create table if not exists record (
    topition int references topition (id) on delete cascade,
    offset_id bigint not null,
    attributes smallint,
    producer_id bigint,
    producer_epoch smallint,
    timestamp timestamptz,
    k bytea,
    v bytea,
    transaction_id xid8 default pg_current_xact_id() not null,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    primary key (topition, offset_id)
);

create table if not exists header (
    topition int,
    offset_id bigint,
    k bytea,
    v bytea,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    foreign key (topition, offset_id) references record (topition, offset_id) on delete cascade
);

create table if not exists producer_detail (
    id int generated always as identity primary key,
    producer_epoch int references producer_epoch (id) on delete cascade,
    topition int references topition (id) on delete cascade,
    sequence int default 0 not null,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (producer_epoch, topition)
);

create table if not exists txn_detail (
    id int generated always as identity primary key,
    "transaction" int references txn (id),
    producer_epoch int references producer_epoch (id),
    transaction_timeout_ms int not null,
    -- AddPartitionsToTxnRequest: if this is the first partition added to the transaction, the
    -- coordinator also starts the transaction timer.
    started_at timestamptz,
    -- BEGIN, PREPARE_COMMIT, PREPARE_ABORT, COMMITTED or ABORTED
    status text,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique ("transaction", producer_epoch)
);

create table if not exists watermark (
    id int generated always as identity primary key,
    topition int references topition (id) on delete cascade,
    low bigint,
    high bigint,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (topition)
);

create table if not exists txn_offset_commit (
    id int generated always as identity primary key,
    txn_detail int references txn_detail (id) on delete cascade,
    consumer_group int references consumer_group (id) on delete cascade,
    generation_id int,
    member_id text,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (txn_detail, consumer_group)
);

-- AddPartitionsToTxnRequest
create table if not exists txn_topition (
    id int generated always as identity primary key,
    txn_detail int references txn_detail (id) on delete cascade,
    topition int references topition (id) on delete cascade,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (txn_detail, topition)
);

create table if not exists txn_offset_commit_tp (
    id int generated always as identity primary key,
    offset_commit int references txn_offset_commit (id) on delete cascade,
    topition int references topition (id) on delete cascade,
    committed_offset bigint,
    leader_epoch int,
    metadata text,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null,
    unique (offset_commit, topition)
);

create table if not exists txn_produce_offset (
    id int generated always as identity primary key,
    txn_topition int references txn_topition (id) on delete cascade unique,
    offset_start bigint,
    offset_end bigint,
    last_updated timestamptz default current_timestamp not null,
    created_at timestamptz default current_timestamp not null
);

commit;
