-- flowhound store schema.
--
-- The schema version is PRAGMA user_version. storage/store.c applies the statements of each
-- "-- @version N" block whose N is above the file's version, in one transaction per block,
-- and sets user_version = N. Never edit a released block: add a new one.
--
-- Flows live in time partitions: one table per span of receive time (default one hour),
-- named flows_YYYYMMDDHH, all with the columns of the "-- @partition" block below. The view
-- `flows` is a UNION ALL of every partition and is what users, the CLI and the web UI query.
-- Dropping a partition is how retention removes old flows without a large DELETE.
--
-- Addresses are TEXT as inet_ntop writes them ("192.0.2.1", "2001:db8::1"), so that
-- `sqlite3 flowhound.db "select * from flows where src_addr = '10.1.1.50'"` just works.
-- Times are Unix milliseconds. A NULL means the exporter did not send that field.

-- @version 1

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);

-- One row per flow partition table (storage/store.c; doc/storage.md "Partitions").
CREATE TABLE partitions (
    name       TEXT PRIMARY KEY,  -- flows_YYYYMMDDHHMM, then _2, _3 ... when capped by rows
    span_start INTEGER NOT NULL,  -- receive-time span covered, Unix ms [start, end)
    span_end   INTEGER NOT NULL,
    min_first  INTEGER,           -- smallest first_ms stored in it (for query pruning)
    max_last   INTEGER,           -- largest last_ms stored in it
    rows       INTEGER NOT NULL DEFAULT 0,
    indexed    INTEGER NOT NULL DEFAULT 0  -- 1 once its endpoint index is built (at close)
);
CREATE INDEX partitions_span ON partitions (span_start);

-- Exporting devices, one row per source address.
CREATE TABLE exporters (
    addr          TEXT PRIMARY KEY,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    packets       INTEGER NOT NULL DEFAULT 0,  -- datagrams received
    bytes         INTEGER NOT NULL DEFAULT 0,
    rejected      INTEGER NOT NULL DEFAULT 0,  -- datagrams rejected, all reasons
    kernel_drops  INTEGER NOT NULL DEFAULT 0   -- datagrams dropped by the kernel at our socket
);

-- Observation domains of an exporter: v5 engine_type<<8|engine_id, v9 source id, IPFIX ODID.
CREATE TABLE exporter_domains (
    addr             TEXT NOT NULL,
    domain           INTEGER NOT NULL,
    version          INTEGER NOT NULL,   -- 5, 9 or 10
    packets          INTEGER NOT NULL DEFAULT 0,
    flows            INTEGER NOT NULL DEFAULT 0,  -- records decoded
    seq_lost         INTEGER NOT NULL DEFAULT 0,  -- missing by sequence numbers (v5 flows,
                                                  -- v9 packets, IPFIX records)
    seq_duplicates   INTEGER NOT NULL DEFAULT 0,
    seq_resets       INTEGER NOT NULL DEFAULT 0,
    dropped_queue    INTEGER NOT NULL DEFAULT 0,  -- records we dropped: queue full
    dropped_store    INTEGER NOT NULL DEFAULT 0,  -- records we dropped: store error
    records_rejected INTEGER NOT NULL DEFAULT 0,  -- records not decodable (e.g. no template)
    PRIMARY KEY (addr, domain, version)
);

-- Rejected datagrams by exporter and reason (collector/reject.h names the reasons).
CREATE TABLE exporter_rejects (
    addr   TEXT NOT NULL,
    reason TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (addr, reason)
);

-- Per-exporter totals, as the web UI and `flowhound exporters` show them.
CREATE VIEW exporter_stats AS
SELECT e.addr AS exporter, e.first_seen_ms, e.last_seen_ms, e.packets, e.rejected,
       e.kernel_drops,
       COALESCE(SUM(d.flows), 0) AS flows,
       COALESCE(SUM(d.seq_lost), 0) AS seq_lost,
       COALESCE(SUM(d.dropped_queue), 0) + COALESCE(SUM(d.dropped_store), 0) AS dropped,
       COALESCE(SUM(d.records_rejected), 0) AS records_rejected
FROM exporters e LEFT JOIN exporter_domains d ON d.addr = e.addr
GROUP BY e.addr;

-- == collector: v9/IPFIX templates (the raw template sets received, replayed at start) ==
-- Written by storage/template_store.c from the writer thread when a domain's templates
-- change (all rows of a domain are replaced, so withdrawals are persisted); loaded at start
-- through the same strict parser as the wire (a bad row is skipped). `raw` is one template
-- record in its version's wire format: v9 template (id, count, fields), v9 options
-- (id, scope length, option length, fields), IPFIX (id, count[, scope count], fields).
CREATE TABLE templates (
    exporter    TEXT NOT NULL,
    domain      INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    template_id INTEGER NOT NULL,
    is_options  INTEGER NOT NULL DEFAULT 0,
    raw         BLOB NOT NULL,      -- the template record as received
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (exporter, domain, version, template_id)
);
-- What options records said about each v9/IPFIX domain, restored with its templates so that
-- uptime-relative times and sampled counts are right after a restart too.
CREATE TABLE template_domains (
    exporter         TEXT NOT NULL,
    domain           INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    sys_init_ms      INTEGER,            -- IPFIX systemInitTimeMilliseconds; NULL: none seen
    default_interval INTEGER NOT NULL DEFAULT 0, -- sampling interval without a sampler id
    samplers         BLOB,               -- (sampler id, interval) pairs, 2 x be32 each
    PRIMARY KEY (exporter, domain, version)
);

-- == analyzer: connections rebuilt from flows ==
CREATE TABLE connections (
    id           INTEGER PRIMARY KEY,
    exporter     TEXT NOT NULL,
    client_addr  TEXT NOT NULL,
    client_port  INTEGER NOT NULL,
    server_addr  TEXT NOT NULL,
    server_port  INTEGER NOT NULL,
    start_ms     INTEGER NOT NULL,
    end_ms       INTEGER NOT NULL,
    state        TEXT NOT NULL,     -- Zeek conn_state words (S0, SF, REJ, S1, RSTO, ...) + SBA (SYN answered by bare ACK)
    role_rule    TEXT,              -- which rule decided client vs server
    c_packets    INTEGER, c_bytes INTEGER, c_flags INTEGER,
    s_packets    INTEGER, s_bytes INTEGER, s_flags INTEGER,
    end_reason   INTEGER,
    records      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX connections_client ON connections (client_addr, client_port, start_ms);
CREATE INDEX connections_start ON connections (start_ms);

-- == analyzer: alerts ==
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,      -- stale_state, port_exhaustion
    state       TEXT NOT NULL,      -- open, resolved
    client_addr TEXT NOT NULL,
    client_port INTEGER,            -- NULL for port_exhaustion (evidence lists the ports)
    server_addr TEXT NOT NULL,
    server_port INTEGER NOT NULL,
    holder      TEXT NOT NULL,      -- middlebox, server, unknown
    attempts    INTEGER NOT NULL DEFAULT 0,
    opened_ms   INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    resolved_ms INTEGER,
    summary     TEXT,               -- one plain-language sentence
    evidence    TEXT NOT NULL       -- JSON
);
CREATE INDEX alerts_client ON alerts (client_addr, client_port);
CREATE INDEX alerts_opened ON alerts (opened_ms);

-- == alert delivery: one row per alert event to deliver (the spool) ==
-- The analyzer commits an event here with its alert; delivery (alerts/deliver.h) sends every
-- event committed after a destination was first configured to that destination and records
-- the outcome in alert_deliveries. No row, or "pending", means not delivered yet.
CREATE TABLE alert_events (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts (id),
    event       TEXT NOT NULL,      -- opened, updated, resolved
    created_ms  INTEGER NOT NULL
);
CREATE TABLE alert_deliveries (
    event_id     INTEGER NOT NULL REFERENCES alert_events (id),
    destination  TEXT NOT NULL,     -- as configured: local, udp://h:p, tcp://h:p, tls://h:p
    state        TEXT NOT NULL,     -- pending (tried, will retry), sent (the receiver's host
                                    -- acknowledged it), failed (cannot be sent, e.g. too
                                    -- large), suppressed (dedup or rate limit), filtered
                                    -- (below the minimum severity)
    tries        INTEGER NOT NULL DEFAULT 0,
    last_try_ms  INTEGER,
    last_error   TEXT,
    PRIMARY KEY (event_id, destination)
);
-- One row per destination ever configured: where its spool starts, and its counters
-- (cumulative across restarts) for the web UI's status page.
CREATE TABLE alert_destinations (
    destination    TEXT PRIMARY KEY,
    first_event_id INTEGER NOT NULL,  -- events with a larger id are delivered here
    done_through   INTEGER NOT NULL,  -- every event up to this id has a final state here
    sent           INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    suppressed     INTEGER NOT NULL DEFAULT 0,
    filtered       INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,  -- connection and send errors (then retried)
    queued         INTEGER NOT NULL DEFAULT 0,  -- events waiting in memory at the last update
    connected      INTEGER NOT NULL DEFAULT 0,
    last_sent_ms   INTEGER,
    last_error     TEXT,
    last_error_ms  INTEGER,
    updated_ms     INTEGER
);
-- Per destination: the counters, and how many events are still to deliver.
CREATE VIEW alert_delivery_status AS
SELECT ds.destination, ds.sent, ds.failed, ds.suppressed, ds.filtered, ds.errors,
       ds.connected, ds.last_sent_ms, ds.last_error, ds.last_error_ms, ds.updated_ms,
       (SELECT count(*) FROM alert_events e
         WHERE e.id > ds.done_through
           AND NOT EXISTS (SELECT 1 FROM alert_deliveries d
                            WHERE d.event_id = e.id AND d.destination = ds.destination
                              AND d.state != 'pending')) AS pending
FROM alert_destinations ds;

-- @version 2
-- Exporters' clocks and flows dated out of bounds (doc/storage.md "Exporters' clocks"). A
-- flow ending more than clock-skew after we received it, or more than clock-max-age before,
-- is stored as sent and counted here; received_ms beside it in the flows view shows which.
ALTER TABLE exporter_domains ADD COLUMN clock_future INTEGER NOT NULL DEFAULT 0;
ALTER TABLE exporter_domains ADD COLUMN clock_past INTEGER NOT NULL DEFAULT 0;
-- export time in the header of its last datagram minus our receive time; NULL: none yet
ALTER TABLE exporter_domains ADD COLUMN clock_offset_ms INTEGER;
-- The newest flow end in a partition, each flow's end taken no later than its receipt: where
-- the web pages' default ranges end, which a flow dated in the future must not move (max_last
-- stays exact: it prunes partitions for queries).
ALTER TABLE partitions ADD COLUMN newest_ms INTEGER;
DROP VIEW exporter_stats;
-- Per-exporter totals, as the web UI shows them; clock_offset_ms is its domains' farthest
-- from ours.
CREATE VIEW exporter_stats AS
SELECT e.addr AS exporter, e.first_seen_ms, e.last_seen_ms, e.packets, e.rejected,
       e.kernel_drops,
       COALESCE(SUM(d.flows), 0) AS flows,
       COALESCE(SUM(d.seq_lost), 0) AS seq_lost,
       COALESCE(SUM(d.dropped_queue), 0) + COALESCE(SUM(d.dropped_store), 0) AS dropped,
       COALESCE(SUM(d.records_rejected), 0) AS records_rejected,
       COALESCE(SUM(d.clock_future), 0) AS clock_future,
       COALESCE(SUM(d.clock_past), 0) AS clock_past,
       (SELECT o.clock_offset_ms FROM exporter_domains o
         WHERE o.addr = e.addr AND o.clock_offset_ms IS NOT NULL
         ORDER BY abs(o.clock_offset_ms) DESC LIMIT 1) AS clock_offset_ms
FROM exporters e LEFT JOIN exporter_domains d ON d.addr = e.addr
GROUP BY e.addr;

-- @version 3
-- v9/IPFIX template state per domain.
-- Templates are held within a memory budget (template-budget, template-budget-exporter),
-- expire when not refreshed (template-timeout) and may change only so often
-- (template-changes); doc/ipfix.md "Template state".
ALTER TABLE exporter_domains ADD COLUMN templates INTEGER NOT NULL DEFAULT 0;      -- held now
ALTER TABLE exporter_domains ADD COLUMN template_bytes INTEGER NOT NULL DEFAULT 0; -- their cost
ALTER TABLE exporter_domains ADD COLUMN templates_refused INTEGER NOT NULL DEFAULT 0;
    -- over budget, too many, or changed too often (exporter_rejects has the reasons)
ALTER TABLE exporter_domains ADD COLUMN templates_expired INTEGER NOT NULL DEFAULT 0;
    -- not refreshed within template-timeout
DROP VIEW exporter_stats;
-- Per-exporter totals, as the web UI shows them (version 2's, and the templates).
CREATE VIEW exporter_stats AS
SELECT e.addr AS exporter, e.first_seen_ms, e.last_seen_ms, e.packets, e.rejected,
       e.kernel_drops,
       COALESCE(SUM(d.flows), 0) AS flows,
       COALESCE(SUM(d.seq_lost), 0) AS seq_lost,
       COALESCE(SUM(d.dropped_queue), 0) + COALESCE(SUM(d.dropped_store), 0) AS dropped,
       COALESCE(SUM(d.records_rejected), 0) AS records_rejected,
       COALESCE(SUM(d.clock_future), 0) AS clock_future,
       COALESCE(SUM(d.clock_past), 0) AS clock_past,
       (SELECT o.clock_offset_ms FROM exporter_domains o
         WHERE o.addr = e.addr AND o.clock_offset_ms IS NOT NULL
         ORDER BY abs(o.clock_offset_ms) DESC LIMIT 1) AS clock_offset_ms,
       COALESCE(SUM(d.templates), 0) AS templates,
       COALESCE(SUM(d.template_bytes), 0) AS template_bytes,
       COALESCE(SUM(d.templates_refused), 0) AS templates_refused,
       COALESCE(SUM(d.templates_expired), 0) AS templates_expired
FROM exporters e LEFT JOIN exporter_domains d ON d.addr = e.addr
GROUP BY e.addr;

-- @partition
-- The columns of every flows_* partition. {P} is replaced by the partition's name. The view
-- `flows` selects the columns from `exporter` to `received_ms`, in this order; src_key and
-- dst_key are hidden (not in the view): integer endpoint keys for the one index, see
-- store_endpoint_key() in storage/store.h and doc/performance.md for why.
CREATE TABLE {P} (
    src_key           INTEGER NOT NULL,  -- hidden: endpoint key of (src_addr, src_port)
    dst_key           INTEGER NOT NULL,  -- hidden: endpoint key of (dst_addr, dst_port)
    exporter          TEXT NOT NULL,     -- exporting device address
    domain            INTEGER NOT NULL,  -- observation domain / source id / engine
    version           INTEGER NOT NULL,  -- 5, 9, 10
    src_addr          TEXT NOT NULL,
    dst_addr          TEXT NOT NULL,
    src_port          INTEGER NOT NULL,
    dst_port          INTEGER NOT NULL,
    proto             INTEGER NOT NULL,
    tcp_flags         INTEGER,
    packets           INTEGER NOT NULL,
    bytes             INTEGER NOT NULL,
    first_ms          INTEGER NOT NULL,
    last_ms           INTEGER NOT NULL,
    in_if             INTEGER,
    out_if            INTEGER,
    next_hop          TEXT,
    src_as            INTEGER,
    dst_as            INTEGER,
    src_mask          INTEGER,
    dst_mask          INTEGER,
    tos               INTEGER,
    sampling_interval INTEGER,
    end_reason        INTEGER,
    direction         INTEGER,
    initial_flags     INTEGER,
    union_flags       INTEGER,
    rev_packets       INTEGER,
    rev_bytes         INTEGER,
    rev_tcp_flags     INTEGER,
    fw_event          INTEGER,
    initiator_bytes   INTEGER,
    responder_bytes   INTEGER,
    post_nat_src_addr TEXT,
    post_nat_dst_addr TEXT,
    post_nat_src_port INTEGER,
    post_nat_dst_port INTEGER,
    received_ms       INTEGER NOT NULL
);

-- @partition-index
-- Built when a partition is closed (full or its span over), not while it is filled: one
-- bulk sort instead of a random B-tree insert per row (doc/performance.md has the numbers).
-- Each index costs about 1 CPU us per row at close; keep only those that pay.
-- (src_key, dst_key) finds a client endpoint's flows (src_key = K) and the replies to it
-- (src_key = server's key AND dst_key = K); the filter's IPv4 `src host|net` use it too.
CREATE INDEX {P}_ep ON {P} (src_key, dst_key);
-- dst_port: filters on a service (`dst port 515 and flags S`) read a few percent of a
-- partition instead of scanning it. It replaced an index on first_ms (stores made before
-- keep that one in their old partitions): pages in time order walk the partitions instead
-- (query/query_walk.c, doc/storage.md "Indexes").
CREATE INDEX {P}_dport ON {P} (dst_port);
