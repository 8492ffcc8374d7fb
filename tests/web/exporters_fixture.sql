-- exporters_fixture.sql - two more exporters beside the story's 127.0.1.1 and 127.0.1.2, for
-- the exporter-name and address order tests: as text, 127.0.1.10 sorts before 127.0.1.2 and
-- 127.0.1.9 after it; as numbers, .1 .2 .9 .10. Counters only: they sent no flow.
BEGIN;
INSERT INTO exporters (addr, first_seen_ms, last_seen_ms, packets) VALUES
 ('127.0.1.10', 1795455000000, 1795507251648, 2),
 ('127.0.1.9', 1795455000000, 1795507251648, 3);
INSERT INTO exporter_domains (addr, domain, version, packets) VALUES
 ('127.0.1.10', 0, 10, 2),
 ('127.0.1.9', 256, 9, 3);
COMMIT;
