-- flowhound's ClickHouse schema (doc/clickhouse.md), applied by storage/ch_schema.c.
--
-- The schema version is max(version) of {db}.flowhound_schema. Each "-- @version N" block
-- whose N is above it runs, one statement at a time (statements end with ";" at the end of a
-- line), then N is recorded. Every statement is idempotent (IF NOT EXISTS): two collectors
-- starting at once on one server both run it safely. Never edit a released block: add one.
--
-- {db} is the database of the store URL. {flows} and {spans} are the tables this collector
-- writes: flows and flow_spans on a single server, flows_local and flow_spans_local in a
-- cluster, where flows and flow_spans are then Distributed tables over every shard's local
-- ones (the "-- @cluster" block) and every read goes through them.
--
-- The columns of the `flows` view are those of the SQLite store, with the same values
-- (storage/ch_rowbinary.c writes them): addresses as inet_ntop text, NULL for a field the
-- exporter did not send. Hidden columns, as in SQLite's partitions:
--   instance  the collector that received the flow (setting `instance`)
--   seq       its receive order in that collector: (start time << 20) + n, increasing
--             across restarts; the sender checks it after a failed insert
--   rhour     receive hour (received_ms / 3600000): partitions and the sort key's lead
--   src_key, dst_key  endpoint keys as in SQLite (storage/hunt.c), for the story's hunt
--
-- PARTITION BY the receive day: retention drops whole days (ALTER TABLE ... DROP PARTITION),
-- and a flow's times, which an exporter can make anything, never create partitions.
-- ORDER BY (rhour, src_key, dst_key): a time range reads only its hours' granules, and in
-- each hour the hunt's "every flow from endpoint K" (src_key = K) and "replies from its
-- peers" (src_key IN peers AND dst_key = K) read a granule or two.

-- @version 1

CREATE DATABASE IF NOT EXISTS {db};

CREATE TABLE IF NOT EXISTS {db}.flowhound_schema (
    version    UInt32,
    applied_ms Int64
) ENGINE = TinyLog;

CREATE TABLE IF NOT EXISTS {db}.{flows} (
    instance          String,
    seq               UInt64,
    rhour             UInt32,
    src_key           Int64,
    dst_key           Int64,
    exporter          String,
    domain            UInt32,
    version           UInt8,
    src_addr          String,
    dst_addr          String,
    src_port          UInt16,
    dst_port          UInt16,
    proto             UInt8,
    tcp_flags         Nullable(UInt16),
    packets           Int64,
    bytes             Int64,
    first_ms          Int64,
    last_ms           Int64,
    in_if             Nullable(UInt32),
    out_if            Nullable(UInt32),
    next_hop          Nullable(String),
    src_as            Nullable(UInt32),
    dst_as            Nullable(UInt32),
    src_mask          Nullable(UInt8),
    dst_mask          Nullable(UInt8),
    tos               Nullable(UInt8),
    sampling_interval Nullable(UInt32),
    end_reason        Nullable(UInt8),
    direction         Nullable(UInt8),
    initial_flags     Nullable(UInt8),
    union_flags       Nullable(UInt8),
    rev_packets       Nullable(Int64),
    rev_bytes         Nullable(Int64),
    rev_tcp_flags     Nullable(UInt16),
    fw_event          Nullable(UInt8),
    initiator_bytes   Nullable(Int64),
    responder_bytes   Nullable(Int64),
    post_nat_src_addr Nullable(String),
    post_nat_dst_addr Nullable(String),
    post_nat_src_port Nullable(UInt16),
    post_nat_dst_port Nullable(UInt16),
    received_ms       Int64
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(toDateTime(rhour * 3600, 'UTC'))
ORDER BY (rhour, src_key, dst_key);

-- One row per inserted block and receive hour, written before the block: the smallest
-- first_ms and largest last_ms of the hour's flows, so that a query over a time range reads
-- only the hours that can hold flows overlapping it (an exporter's clock can put a flow's
-- times anywhere; the receive hour is ours). A block lost after its row was written only
-- makes the row claim too much: never too little. newest: the newest last_ms taken no later
-- than the flow's receipt, for the web pages' default ranges (SQLite's partitions.newest_ms).
CREATE TABLE IF NOT EXISTS {db}.{spans} (
    instance  String,
    rhour     UInt32,
    min_first Int64,
    max_last  Int64,
    newest    Int64,
    rows      UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(toDateTime(rhour * 3600, 'UTC'))
ORDER BY rhour;

-- @version 2

-- Where each block of flows ends in its collector's receive journal (storage/ch_marks.h),
-- written before the block: the mark of the newest block held (its last_seq found in the flows)
-- is where the collector resumes after a crash or an outage, so that nothing is stored twice
-- and nothing lost. Only its collector reads it (on its own server, never through a cluster).
-- Partitioned as the flows, by the blocks' receive day: retention drops it with them.
CREATE TABLE IF NOT EXISTS {db}.journal_marks (
    instance String,
    day      UInt32,
    last_seq UInt64,
    jseg     UInt64,
    joff     UInt64,
    jpart    UInt32
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(toDateTime(day * 86400, 'UTC'))
ORDER BY (instance, last_seq);

-- @cluster
-- Only with ?cluster=NAME: the tables every read goes through, over each shard's local ones.
-- The cluster is defined in the servers' remote_servers configuration.

CREATE TABLE IF NOT EXISTS {db}.flows AS {db}.flows_local
ENGINE = Distributed('{cluster}', '{db}', 'flows_local');

CREATE TABLE IF NOT EXISTS {db}.flow_spans AS {db}.flow_spans_local
ENGINE = Distributed('{cluster}', '{db}', 'flow_spans_local');
