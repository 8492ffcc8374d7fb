-- story_fixture.sql - what the analyzer writes for the story scenario (merged.v5.pcap
-- replayed with exporters 127.0.1.1 = outside, 127.0.1.2 = inside): the two stale-state alerts
-- with the evidence `flowhound analyze --vantage-inner 127.0.1.2` gives them, and a
-- port-exhaustion alert (the connections shown with them are rebuilt from the story's 26
-- stored flows by the API, not stored); plus one alert and one reject reason carrying hostile
-- strings, which every page must show as text. Used by the web tests only.
BEGIN;
INSERT INTO alerts (id, kind, state, client_addr, client_port, server_addr, server_port, holder,
    attempts, opened_ms, updated_ms, resolved_ms, summary, evidence) VALUES
 (1, 'stale_state', 'open', '10.1.1.50', 722, '10.2.2.10', 515, 'middlebox', 3,
  1795455065598, 1795455074598, NULL,
  'SYNs from 10.1.1.50:722 to 10.2.2.10:515 are answered by a bare ACK from a middlebox: the connection of 17:30:40 was never closed.',
  '{
  "client_next": [{"client_port": 723, "start": "2026-11-23T17:31:26.598Z", "start_ms": 1795455086598, "state": "SF", "worked": true}],
  "explanation": "A connection from this client port ended without FIN or RST. A device between the vantage points (firewall, NAT or load balancer) still holds it as established and answers the client''s new SYNs from the same port with ACKs of the old connection, so the SYNs never reach the server and the client cannot connect from this port until that state times out.",
  "failed_attempts": {
    "by_exporter": [{"answer": "bare_ack", "answer_packets": 3, "connections": 1, "exporter": "127.0.1.1/1", "first": "2026-11-23T17:31:05.598Z", "first_ms": 1795455065598, "last": "2026-11-23T17:31:14.598Z", "last_ms": 1795455074598, "syn_packets": 3}],
    "count": 3,
    "first": "2026-11-23T17:31:05.598Z",
    "first_ms": 1795455065598,
    "last": "2026-11-23T17:31:14.598Z",
    "last_ms": 1795455074598},
  "fixes": [
    "Find why the old connection ended without closure (client crash, tunnel drop, NAT/VPN reconnect).",
    "Align timers: the firewall/NAT idle timeout for TCP should exceed the client''s port reuse interval, or be shorter than the server''s.",
    "Enable TCP keepalive on the client and server so dead connections are detected and removed (e.g. net.ipv4.tcp_keepalive_time).",
    "Make the server time out idle connections; make the client pick another source port, or send RST when its new SYN is answered by a bare ACK."],
  "holder": {"who": "middlebox", "why": "127.0.1.1/1 saw the SYNs answered by bare ACKs; 127.0.1.2/2, which saw the old connection, saw no SYN: the device between them answered"},
  "last_viable_connection": {"client_to_server": {"bytes": 25148, "flags": "SAP", "packets": 24, "records": 1}, "closed": false, "duration_ms": 233, "end": "2026-11-23T17:30:40.570Z", "end_ms": 1795455040570, "end_reason": "not exported", "exporter": "127.0.1.1/1", "server_to_client": {"bytes": 736, "flags": "SAP", "packets": 18, "records": 1}, "start": "2026-11-23T17:30:40.337Z", "start_ms": 1795455040337, "state": "S1"},
  "stale_since": "2026-11-23T17:30:40.570Z",
  "stale_since_ms": 1795455040570}'),
 (2, 'stale_state', 'open', '10.1.1.50', 722, '10.2.2.10', 515, 'server', 3,
  1795507230338, 1795507239338, NULL,
  'SYNs from 10.1.1.50:722 to 10.2.2.10:515 are answered by a bare ACK from the server itself: it still holds the connection of 17:30:40.',
  '{
  "client_next": [{"client_port": 723, "start": "2026-11-24T08:00:51.338Z", "start_ms": 1795507251338, "state": "SF", "worked": true}],
  "explanation": "A connection from this client port ended without FIN or RST. The server still holds it as established and answers the client''s new SYNs from the same port with ACKs of the old connection (RFC 5961 challenge ACKs), so the client cannot connect from this port until the server drops that state.",
  "failed_attempts": {
    "by_exporter": [{"answer": "bare_ack", "answer_packets": 3, "connections": 1, "exporter": "127.0.1.1/1", "first": "2026-11-24T08:00:30.338Z", "first_ms": 1795507230338, "last": "2026-11-24T08:00:39.340Z", "last_ms": 1795507239340, "syn_packets": 3}, {"answer": "bare_ack", "answer_packets": 3, "connections": 1, "exporter": "127.0.1.2/2", "first": "2026-11-24T08:00:30.339Z", "first_ms": 1795507230339, "last": "2026-11-24T08:00:39.340Z", "last_ms": 1795507239340, "syn_packets": 3}],
    "count": 3,
    "first": "2026-11-24T08:00:30.338Z",
    "first_ms": 1795507230338,
    "last": "2026-11-24T08:00:39.340Z",
    "last_ms": 1795507239340},
  "fixes": [
    "Find why the old connection ended without closure (client crash, tunnel drop, NAT/VPN reconnect).",
    "Align timers: the firewall/NAT idle timeout for TCP should exceed the client''s port reuse interval, or be shorter than the server''s.",
    "Enable TCP keepalive on the client and server so dead connections are detected and removed (e.g. net.ipv4.tcp_keepalive_time).",
    "Make the server time out idle connections; make the client pick another source port, or send RST when its new SYN is answered by a bare ACK."],
  "holder": {"who": "server", "why": "every vantage point on the path (2) saw the SYNs and the bare ACK answers: they come from the server''s side"},
  "last_viable_connection": {"client_to_server": {"bytes": 25148, "flags": "SAP", "packets": 24, "records": 1}, "closed": false, "duration_ms": 233, "end": "2026-11-23T17:30:40.570Z", "end_ms": 1795455040570, "end_reason": "not exported", "exporter": "127.0.1.1/1", "server_to_client": {"bytes": 736, "flags": "SAP", "packets": 18, "records": 1}, "start": "2026-11-23T17:30:40.337Z", "start_ms": 1795455040337, "state": "S1"},
  "stale_since": "2026-11-23T17:30:40.570Z",
  "stale_since_ms": 1795455040570}'),
 (3, 'stale_state', 'resolved', '10.9.9.9', 1234, '10.2.2.10', 515, 'unknown', 1,
  1795455000000, 1795455001000, 1795455002000,
  '<img src=x onerror="document.body.dataset.pwned=1">hostile summary',
  '{"note": "</script><script>document.body.dataset.pwned=2</script>", "<b>key</b>": "<i>v</i>"}'),
 (4, 'port_exhaustion', 'open', '10.1.1.50', NULL, '10.2.2.10', 515, 'unknown', 11,
  1795507260000, 1795507270000, NULL,
  'All 11 source ports LPD allows (721-731) of 10.1.1.50 have failed towards 10.2.2.10:515.',
  '{
  "explanation": "The client uses a small fixed range of source ports (as RFC 1179 LPD clients do with 721-731) and stale state blocks port after port: it can run out of ports.",
  "first_attempt": "2026-11-24T08:00:30.338Z",
  "first_attempt_ms": 1795507230338,
  "fixes": [
    "Find why the old connection ended without closure (client crash, tunnel drop, NAT/VPN reconnect).",
    "Align timers: the firewall/NAT idle timeout for TCP should exceed the client''s port reuse interval, or be shorter than the server''s.",
    "Enable TCP keepalive on the client and server so dead connections are detected and removed (e.g. net.ipv4.tcp_keepalive_time).",
    "Make the server time out idle connections; make the client pick another source port, or send RST when its new SYN is answered by a bare ACK."],
  "last_attempt": "2026-11-24T08:01:10.000Z",
  "last_attempt_ms": 1795507270000,
  "per_port": [
    {"client_port": 721, "attempts": 1, "holder": "unknown"},
    {"client_port": 722, "attempts": 3, "holder": "server"},
    {"client_port": 723, "attempts": 1, "holder": "unknown"},
    {"client_port": 724, "attempts": 1, "holder": "unknown"},
    {"client_port": 725, "attempts": 1, "holder": "unknown"},
    {"client_port": 726, "attempts": 1, "holder": "unknown"},
    {"client_port": 727, "attempts": 1, "holder": "unknown"},
    {"client_port": 728, "attempts": 1, "holder": "unknown"},
    {"client_port": 729, "attempts": 1, "holder": "unknown"},
    {"client_port": 730, "attempts": 1, "holder": "unknown"},
    {"client_port": 731, "attempts": 1, "holder": "unknown"}],
  "ports": [721, 722, 723, 724, 725, 726, 727, 728, 729, 730, 731]}');
INSERT OR REPLACE INTO exporter_rejects (addr, reason, count) VALUES
 ('127.0.1.1', '<script>document.body.dataset.pwned=3</script>', 1);
COMMIT;
