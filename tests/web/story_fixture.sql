-- story_fixture.sql - what the analyzer would write for the story scenario (merged.v5.pcap
-- replayed with exporters 127.0.1.1 = outside, 127.0.1.2 = inside): the two stale-state alerts
-- and a port-exhaustion alert (the connections shown with them are rebuilt from the story's
-- 26 stored flows by the API, not stored); plus one alert and one reject reason carrying
-- hostile strings, which every page must show as text. Used by the web tests only.
BEGIN;
INSERT INTO alerts (id, kind, state, client_addr, client_port, server_addr, server_port, holder,
    attempts, opened_ms, updated_ms, resolved_ms, summary, evidence) VALUES
 (1, 'stale_state', 'open', '10.1.1.50', 722, '10.2.2.10', 515, 'middlebox', 3,
  1795455065598, 1795455074598, NULL,
  'SYNs from 10.1.1.50:722 to 10.2.2.10:515 are answered by a bare ACK from a middlebox: the connection of 17:30:40 was never closed.',
  '{"stale_since_ms": 1795455040570, "last_viable": {"start_ms": 1795455040337, "end_ms": 1795455040570, "state": "S1"}, "attempts_ms": [1795455065598, 1795455068598, 1795455074598], "seen_by": {"outside": "127.0.1.1"}}'),
 (2, 'stale_state', 'open', '10.1.1.50', 722, '10.2.2.10', 515, 'server', 3,
  1795507230338, 1795507239338, NULL,
  'SYNs from 10.1.1.50:722 to 10.2.2.10:515 are answered by a bare ACK from the server itself: it still holds the connection of 17:30:40.',
  '{"stale_since_ms": 1795455040570, "attempts_ms": [1795507230338, 1795507233338, 1795507239338], "seen_by": {"outside": "127.0.1.1", "inside": "127.0.1.2"}}'),
 (3, 'stale_state', 'resolved', '10.9.9.9', 1234, '10.2.2.10', 515, 'unknown', 1,
  1795455000000, 1795455001000, 1795455002000,
  '<img src=x onerror="document.body.dataset.pwned=1">hostile summary',
  '{"note": "</script><script>document.body.dataset.pwned=2</script>", "<b>key</b>": "<i>v</i>"}'),
 (4, 'port_exhaustion', 'open', '10.1.1.50', NULL, '10.2.2.10', 515, 'unknown', 11,
  1795507260000, 1795507270000, NULL,
  'All 11 source ports LPD allows (721-731) of 10.1.1.50 have failed towards 10.2.2.10:515.',
  '{"ports": [721, 722, 723, 724, 725, 726, 727, 728, 729, 730, 731]}');
INSERT OR REPLACE INTO exporter_rejects (addr, reason, count) VALUES
 ('127.0.1.1', '<script>document.body.dataset.pwned=3</script>', 1);
COMMIT;
