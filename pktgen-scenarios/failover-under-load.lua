-- failover-under-load.lua -- constant load while a path goes down and comes back; the rate
-- received by Pktgen port 1 every 100 ms, and the outage computed from it.
--
-- Timeline (seconds from the start of the measured run): 0-DOWN_AT_S steady load (the
-- baseline), at DOWN_AT_S the path goes down, at UP_AT_S it comes back, the run ends at END_S.
-- "Goes down" is DOWN_CMD / UP_CMD below when set (run with os.execute: end them with "&" or
-- keep them short, the sampling waits for them), else a message asks the operator to act.
--
-- How to take a path down today: mpf has no path state command yet (mpfctl
-- "path set 5g down" arrives with the control-plane issue). Pull the path cable, or, when a
-- Linux box or switch sits on the path, take its port down on that wire side
-- ("ip link set dev <port> down" there, e.g. from DOWN_CMD over ssh). Do not touch the
-- gateway's own ports: they belong to DPDK.
--
-- Topology (README.md): topology A (Pktgen port 0 -> gateway LAN, Pktgen port 1 <- server
-- WAN), with the gateway's path(s) running through something you can take down. mpf configs:
-- configs/gateway-b2b.conf and configs/server-b2b.conf of this directory (one path; add a
-- second path to the gateway's "paths" for a two-path run). Pktgen 23.03.0 with Lua.
--
-- Expected outcome today, from the code (not a measurement): the gateway sends every tunnel
-- frame on path 0 (Worker::encap_to_server; there is no path scheduler or path health yet),
-- and the server sends to the lowest path it has learned. So taking path 0 down stops the
-- traffic until the same path is back, with or without a second path: the outage is the down
-- time plus the link's renegotiation; what the gateway sends meanwhile is lost at its path
-- port (tx_full in /mpf/stats once the TX ring is full, or in the NIC's own counters, depending
-- on the driver). Nothing has to be re-learned when it returns (same addresses,
-- NAT sessions kept). With the multipath scheduler the outage should shrink to the path-health
-- detection time; this script is written to measure that then.
--
-- What to look at: the per-100 ms series (printed and in CSV_FILE), the outage estimate, and on
-- the gateway /mpf/stats (tx_full, probes_sent / probe_replies_received) and /mpf/ports
-- (per-port tx_packets: which path carried the load).
--
-- Measuring: Pktgen's own port statistics are refreshed only once per second, so the 100 ms
-- series is built from Pktgen's per-packet receive size counters (pktgen.portSizes), which its
-- RX lcore updates for every frame. The sample clock is pktgen.delay(SAMPLE_MS): nominal, it
-- drifts by the script's own run time (small against 100 ms). The outage estimate does not
-- depend on that clock: outage = (expected - received) / baseline rate, where the baseline is
-- the mean receive rate before DOWN_AT_S.

local SEND        = "0"
local RECV        = "1"
local GW_LAN_MAC  = "02:00:00:00:0a:01"   -- EDIT: the gateway's LAN port MAC (/mpf/ports)
local SRC_IP      = "192.168.10.2/24"
local DST_IP      = "198.51.100.2"
local SIZE        = 128                   -- bytes per frame
local RATE        = 10                    -- % of port 0's link speed: a load the path carries
local SAMPLE_MS   = 100
local DOWN_AT_S   = 5
local UP_AT_S     = 15
local END_S       = 30
local DOWN_CMD    = nil                   -- e.g. "ssh root@wire ip link set dev eth1 down &"
local UP_CMD      = nil                   -- e.g. "ssh root@wire ip link set dev eth1 up &"
local CSV_FILE    = "/tmp/mpf-failover.csv"

local function say(fmt, ...)
    io.write(string.format(fmt, ...), "\n")
    io.flush()
end

-- Frames received on RECV so far, counted per packet by Pktgen's RX path.
local function rx_now()
    local s = pktgen.portSizes(RECV)[tonumber(RECV)]
    return s.runt + s._64 + s._65_127 + s._128_255 + s._256_511 + s._512_1023 + s._1024_1518 + s.jumbo
end

local function hook(cmd, what)
    if cmd then
        say("t=%s: %s: %s", what == "down" and DOWN_AT_S or UP_AT_S, what, cmd)
        os.execute(cmd)
    else
        say(">>> NOW: bring the path %s <<<", what)
    end
end

pktgen.stop(SEND)
pktgen.set(SEND, "seq_cnt", 0)
pktgen.set_range(SEND, "off")
pktgen.set_type(SEND, "ipv4")
pktgen.set_proto(SEND, "udp")
pktgen.set_mac(SEND, "dst", GW_LAN_MAC)
pktgen.set_ipaddr(SEND, "src", SRC_IP)
pktgen.set_ipaddr(SEND, "dst", DST_IP)
pktgen.set(SEND, "sport", 1234)
pktgen.set(SEND, "dport", 9)
pktgen.set(SEND, "ttl", 64)
pktgen.set(SEND, "size", SIZE)
pktgen.set(SEND, "count", 0)

-- Warm-up at 1 % for 2 s (ARP), then the measured run.
pktgen.set(SEND, "rate", 1)
pktgen.start(SEND)
pktgen.delay(2000)
pktgen.stop(SEND)
pktgen.delay(1500)

local csv = assert(io.open(CSV_FILE, "w"))
csv:write("t_ms,rx_frames,rx_pps\n")

local per_s = math.floor(1000 / SAMPLE_MS)   -- samples per second
local n_down, n_up, n_end = DOWN_AT_S * per_s, UP_AT_S * per_s, END_S * per_s
local deltas = {}

pktgen.set(SEND, "rate", RATE)
local tx0 = pktgen.portStats(SEND, "port")[tonumber(SEND)].opackets
pktgen.start(SEND)
local last = rx_now()
for i = 1, n_end do
    if i == n_down + 1 then hook(DOWN_CMD, "down") end
    if i == n_up + 1 then hook(UP_CMD, "up") end
    pktgen.delay(SAMPLE_MS)
    local now = rx_now()
    deltas[i] = now - last
    last = now
    csv:write(string.format("%d,%d,%.0f\n", i * SAMPLE_MS, deltas[i], deltas[i] * per_s))
end
pktgen.stop(SEND)
pktgen.delay(1500)
local tx = pktgen.portStats(SEND, "port")[tonumber(SEND)].opackets - tx0
csv:close()

-- Baseline: samples of the steady part, skipping the first second (start-up of the burst).
local sum, cnt = 0, 0
for i = per_s + 1, n_down do sum = sum + deltas[i]; cnt = cnt + 1 end
local base = cnt > 0 and sum / cnt or 0
local received, first_low, back = 0, nil, nil
for i = n_down + 1, n_end do
    received = received + deltas[i]
    if not first_low and deltas[i] < 0.1 * base then first_low = i end
    if first_low and not back and i > first_low and deltas[i] >= 0.9 * base then back = i end
end
local expected = base * (n_end - n_down)
local lost = math.max(0, expected - received)

say("failover-under-load: baseline %.0f frames per %d ms (%.0f pps), Pktgen sent %.0f frames",
    base, SAMPLE_MS, base * per_s, tx)
if base > 0 then
    say("  lost after t=%d s: %.0f frames = %.0f ms of traffic at the baseline rate",
        DOWN_AT_S, lost, lost / base * SAMPLE_MS)
end
if first_low then
    say("  rx below 10 %% of baseline from t=%.1f s; back above 90 %% at %s", first_low / per_s,
        back and string.format("t=%.1f s (window %.1f s)", back / per_s, (back - first_low) / per_s)
             or "never (before the end of the run)")
else
    say("  rx never fell below 10 %% of the baseline")
end
say("  series: %s", CSV_FILE)
