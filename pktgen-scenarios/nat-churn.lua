-- nat-churn.lua -- bursts of brand-new flows, to measure NAT session set-up and to watch the
-- gateway's nat_created / nat_ports_exhausted / nat_table_full counters.
--
-- Each phase sends exactly N packets in range mode, every packet a flow never seen before:
-- source addresses 192.168.10.2-254 (253) x a window of W source ports (W coprime with 253),
-- and the port window advances every phase. Phase list:
--   1. a rate sweep (RATES, % of port 0's 64-byte line rate), 253 x 16 = 4048 flows each;
--   2. FILL_PHASES at FILL_RATE %, 253 x 64 = 16192 flows each, until the gateway's port pool
--      (65535 - 1024 + 1 = 64512 ports, split between its workers) runs out.
-- A UDP session lives nat.timeouts.udp = 300 s, so nothing expires during the run: the
-- cumulative number of flows decides when nat_ports_exhausted starts (sweep 28336 flows, then
-- 44528, 60720, 76912: the third fill phase cannot fit, and with uneven RSS one worker's share
-- may already run out in the second). Restart the gateway (or wait 300 s) before running this
-- again.
--
-- Topology (README.md): Pktgen port 0 -> gateway LAN port; Pktgen port 1 <- server WAN port
-- (topology A) or <- gateway path port (topology B). mpf configs: configs/gateway-b2b.conf and
-- configs/server-b2b.conf of this directory. To see nat_table_full instead of
-- nat_ports_exhausted, set nat.max_sessions = 1024 (the minimum, per worker) in the gateway's
-- config: the session pool then runs out before the port share.
-- Pktgen: 23.03.0 with Lua; run with ONE TX lcore on port 0 (-m "[1:2].0, [3:4].1"): Pktgen
-- builds each run's range packets into a per-TX-queue pool of 24576 mbufs, and with several TX
-- queues the pools can repeat each other's flows within a phase. N stays below 24576.
--
-- What to look at: set TELEMETRY_CMD below to a command that prints the gateway's /mpf/stats
-- (it may ssh to the gateway host); the script then prints per phase the deltas of
-- nat_created, nat_ports_exhausted, nat_table_full and the nat_sessions level. Without it, run
--   watch -n1 'echo /mpf/stats | dpdk-telemetry.py -f mpf-gw'
-- on the gateway; the script pauses GAP_MS between phases. /mpf/lcores shows per worker the
-- sessions against its nat_port_first..nat_port_last share. The same holds on the server
-- (-f mpf-srv), where one worker takes every session of this gateway (README.md).
--
-- Expected outcome: nothing is claimed; no bare-metal figures exist yet. By construction, a
-- phase whose nat_created delta equals its N and shows no drops set up every session at the
-- offered rate; the highest such rate bounds the set-up rate for bursts of that size. After the
-- pool is used up, every further new flow is one nat_ports_exhausted (no ICMP is sent back).
-- Note that rx on Pktgen port 1 counts packets, not sessions: both equal N here because every
-- packet is the first of its flow. In topology A the server's NAT runs out first when it has
-- more than one worker (one worker takes all of this gateway's sessions from its 1/W share:
-- 32256 ports with 2 workers, reached in the first fill phase): rx < tx on Pktgen port 1
-- while the gateway's counters are clean points there (dpdk-telemetry.py -f mpf-srv).

local SEND        = "0"
local RECV        = "1"
local GW_LAN_MAC  = "02:00:00:00:0a:01"   -- EDIT: the gateway's LAN port MAC (/mpf/ports)
local DST_IP      = "198.51.100.2"
local DPORT       = 9
local RATES       = { 1, 2, 5, 10, 20, 50, 100 }
local SWEEP_PORTS = 16                    -- W of the sweep phases: 253 x 16 = 4048 flows
local FILL_PHASES = 3
local FILL_RATE   = 10
local FILL_PORTS  = 64                    -- 253 x 64 = 16192 flows
local FIRST_PORT  = 1024
local GAP_MS      = 5000
local CSV_FILE    = "/tmp/mpf-nat-churn.csv"
-- e.g. "ssh root@gw-host \"echo /mpf/stats | dpdk-telemetry.py -f mpf-gw\""
local TELEMETRY_CMD = nil

local ADDRS = 253                         -- 192.168.10.2 .. 192.168.10.254

local function say(fmt, ...)
    io.write(string.format(fmt, ...), "\n")
    io.flush()
end

-- /mpf/stats as one JSON line; the few fields we need, 0 when absent (drops appear only
-- once non-zero).
local function mpf_stats()
    if not TELEMETRY_CMD then return nil end
    local p = io.popen(TELEMETRY_CMD)
    if not p then return nil end
    local s = p:read("*a") or ""
    p:close()
    local function field(name) return tonumber(s:match('"' .. name .. '": (%d+)')) or 0 end
    return { created = field("nat_created"), sessions = field("nat_sessions"),
             exhausted = field("nat_ports_exhausted"), full = field("nat_table_full") }
end

local function pkts(port, dir)
    local st = pktgen.portStats(port, "port")[tonumber(port)]
    return dir == "tx" and st.opackets or st.ipackets
end

local function wait_done(timeout_ms)
    local waited = 0
    while pktgen.isSending(SEND)[tonumber(SEND)] == "y" and waited < timeout_ms do
        pktgen.delay(10)
        waited = waited + 10
    end
    pktgen.stop(SEND)
end

local csv = assert(io.open(CSV_FILE, "w"))
csv:write("phase,rate_pct,offered_pps,flows,tx_pkts,rx_pkts,nat_created,nat_sessions," ..
          "nat_ports_exhausted,nat_table_full\n")

-- Single-packet settings (the warm-up) and the fixed parts of the range.
pktgen.stop(SEND)
pktgen.set(SEND, "seq_cnt", 0)
pktgen.set_type(SEND, "ipv4")
pktgen.set_proto(SEND, "udp")
pktgen.set_mac(SEND, "dst", GW_LAN_MAC)
pktgen.set_ipaddr(SEND, "src", "192.168.10.2/24")
pktgen.set_ipaddr(SEND, "dst", DST_IP)
pktgen.set(SEND, "sport", 1234)
pktgen.set(SEND, "dport", DPORT)
pktgen.set(SEND, "ttl", 64)
pktgen.set(SEND, "size", 64)             -- Pktgen paces range mode by this size

pktgen.range.ip_proto(SEND, "udp")
pktgen.range.dst_mac(SEND, "start", GW_LAN_MAC)
for _, k in ipairs({ "start", "min" }) do pktgen.range.src_ip(SEND, k, "192.168.10.2") end
pktgen.range.src_ip(SEND, "max", "192.168.10.254")
pktgen.range.src_ip(SEND, "inc", "0.0.0.1")
for _, k in ipairs({ "start", "min", "max" }) do pktgen.range.dst_ip(SEND, k, DST_IP) end
pktgen.range.dst_ip(SEND, "inc", "0.0.0.0")
for _, k in ipairs({ "start", "min", "max" }) do pktgen.range.dst_port(SEND, k, DPORT) end
pktgen.range.dst_port(SEND, "inc", 0)
for _, k in ipairs({ "start", "min", "max" }) do pktgen.range.ttl(SEND, k, 64) end
pktgen.range.ttl(SEND, "inc", 0)
for _, k in ipairs({ "start", "min", "max" }) do pktgen.range.pkt_size(SEND, k, 64) end
pktgen.range.pkt_size(SEND, "inc", 0)

-- Warm-up: one flow at 1 % for 2 s (ARP on both appliances), then range mode.
pktgen.set_range(SEND, "off")
pktgen.set(SEND, "count", 0)
pktgen.set(SEND, "rate", 1)
pktgen.start(SEND)
pktgen.delay(2000)
pktgen.stop(SEND)
pktgen.set_range(SEND, "on")

local phases = {}
for _, r in ipairs(RATES) do phases[#phases + 1] = { rate = r, ports = SWEEP_PORTS } end
for _ = 1, FILL_PHASES do phases[#phases + 1] = { rate = FILL_RATE, ports = FILL_PORTS } end

local next_port = FIRST_PORT
local total = 0
for i, ph in ipairs(phases) do
    local lo, hi = next_port, next_port + ph.ports - 1
    next_port = hi + 1
    local flows = ADDRS * ph.ports
    total = total + flows
    -- A fresh source-port window: none of these (address, port) pairs has been sent before.
    for _, k in ipairs({ "start", "min" }) do pktgen.range.src_port(SEND, k, lo) end
    pktgen.range.src_port(SEND, "max", hi)
    pktgen.range.src_port(SEND, "inc", 1)
    pktgen.set(SEND, "rate", ph.rate)
    pktgen.set(SEND, "count", flows)

    pktgen.delay(1500)                    -- Pktgen's port stats refresh once per second
    local tx0, rx0, m0 = pkts(SEND, "tx"), pkts(RECV, "rx"), mpf_stats()
    local offered = pktgen.portInfo(SEND)[tonumber(SEND)]["tx_debug"]["tx_pps"]
    pktgen.start(SEND)
    wait_done(60000)
    pktgen.delay(1500)
    local tx, rx, m1 = pkts(SEND, "tx") - tx0, pkts(RECV, "rx") - rx0, mpf_stats()

    -- Deltas over the phase (the level for nat_sessions); "n/a" without TELEMETRY_CMD.
    local c, s, e, f = "n/a", "n/a", "n/a", "n/a"
    if m0 and m1 then
        c = string.format("%d", m1.created - m0.created)
        s = string.format("%d", m1.sessions)
        e = string.format("%d", m1.exhausted - m0.exhausted)
        f = string.format("%d", m1.full - m0.full)
    end
    say("phase %2d: rate %3d %% (~%.0f pps offered), sport %d-%d, %d new flows (%d so far): " ..
        "tx %.0f rx %.0f | nat_created %s, nat_sessions %s, nat_ports_exhausted %s, nat_table_full %s",
        i, ph.rate, offered, lo, hi, flows, total, tx, rx, c, s, e, f)
    csv:write(string.format("%d,%d,%.0f,%d,%.0f,%.0f,%s,%s,%s,%s\n", i, ph.rate, offered, flows,
        tx, rx, c, s, e, f))
    csv:flush()
    if not TELEMETRY_CMD then pktgen.delay(GAP_MS) end
end

pktgen.set(SEND, "count", 0)
pktgen.set_range(SEND, "off")
csv:close()
say("nat-churn.lua: done, results in %s", CSV_FILE)
