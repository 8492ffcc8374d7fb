-- story_fixture.sql - what the analyzer would write for the story scenario (merged.v5.pcap
-- replayed with exporters 127.0.1.1 = outside, 127.0.1.2 = inside): connections of the print
-- client, the two stale-state alerts and a port-exhaustion alert; plus one alert and one reject reason carrying
-- hostile strings, which every page must show as text. Used by the web tests only.
BEGIN;
INSERT INTO connections (id, exporter, client_addr, client_port, server_addr, server_port,
    start_ms, end_ms, state, role_rule, c_packets, c_bytes, c_flags, s_packets, s_bytes,
    s_flags, end_reason, records) VALUES
 (1, '127.0.1.1', '10.1.1.50', 721, '10.2.2.10', 515, 1795455000014, 1795455000322, 'SF', 'syn', 23, 21180, 27, 20, 817, 27, NULL, 2),
 (2, '127.0.1.1', '10.1.1.50', 722, '10.2.2.10', 515, 1795455040337, 1795455040570, 'S1', 'syn', 24, 25148, 26, 18, 736, 26, NULL, 2),
 (3, '127.0.1.1', '10.1.1.50', 722, '10.2.2.10', 515, 1795455065598, 1795455065598, 'SA', 'syn', 1, 52, 2, 1, 40, 16, NULL, 2),
 (4, '127.0.1.1', '10.1.1.50', 722, '10.2.2.10', 515, 1795455068598, 1795455068598, 'SA', 'syn', 1, 52, 2, 1, 40, 16, NULL, 2),
 (5, '127.0.1.1', '10.1.1.50', 722, '10.2.2.10', 515, 1795455074598, 1795455074598, 'SA', 'syn', 1, 52, 2, 1, 40, 16, NULL, 2),
 (6, '127.0.1.1', '10.1.1.50', 723, '10.2.2.10', 515, 1795455086598, 1795455086907, 'SF', 'syn', 25, 23102, 27, 21, 857, 27, NULL, 2),
 (7, '127.0.1.1', '10.1.1.50', 721, '10.2.2.10', 515, 1795507200014, 1795507200323, 'SF', 'syn', 27, 25846, 27, 22, 897, 27, NULL, 2),
 (8, '127.0.1.1', '10.1.1.50', 722, '10.2.2.10', 515, 1795507230338, 1795507230338, 'SA', 'syn', 1, 52, 2, 1, 40, 16, NULL, 2),
 (9, '127.0.1.1', '10.1.1.50', 722, '10.2.2.10', 515, 1795507233338, 1795507233338, 'SA', 'syn', 1, 52, 2, 1, 40, 16, NULL, 2),
 (10, '127.0.1.1', '10.1.1.50', 722, '10.2.2.10', 515, 1795507239338, 1795507239340, 'SA', 'syn', 1, 52, 2, 1, 40, 16, NULL, 2),
 (11, '127.0.1.2', '10.1.1.50', 722, '10.2.2.10', 515, 1795507230339, 1795507239340, 'SA', 'syn', 3, 156, 2, 3, 120, 16, NULL, 2),
 (12, '127.0.1.1', '10.1.1.50', 723, '10.2.2.10', 515, 1795507251338, 1795507251647, 'SF', 'syn', 27, 26856, 27, 22, 897, 27, NULL, 2);
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
