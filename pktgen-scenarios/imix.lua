-- imix.lua -- IMIX 7:4:1 of 64 / 570 / 1518-byte UDP frames, one LAN host to Host B.
--
-- Phases: each size alone (64, 570, 1518), then the 7:4:1 mix as a Pktgen sequence of 12
-- packets (7 x 64, 4 x 570, 1 x 1518, interleaved). Every phase runs PHASE_MS at RATE % of
-- port 0's link speed and reports what Pktgen port 0 sent and Pktgen port 1 received.
--
-- Topology (README.md): Pktgen port 0 -> gateway LAN port; Pktgen port 1 <- server WAN port
-- (topology A, end to end) or <- gateway path port (topology B: port 1 then counts the
-- encapsulated frames, 53 bytes longer each).
-- mpf configs: configs/gateway-b2b.conf and configs/server-b2b.conf of this directory. They set
-- the gateway path and server t0 MTU to 1553, so the inner MTU is 1500 and 1518-byte frames
-- (IP 1500) cross. With the repository's default MTU 1500 the inner MTU is 1447: every
-- 1518-byte frame is then dropped as too_big (no ICMP: Pktgen does not set DF) and the
-- 1518 phase receives nothing; set LARGE = 1465 below to stay inside a 1500-byte path.
-- Pktgen: 23.03.0 built with -Denable_lua=true; run with -f imix.lua, or "script imix.lua"
-- at the Pktgen prompt.
--
-- What to look at on the appliances after each phase (or at the end):
--   echo /mpf/stats | dpdk-telemetry.py -f mpf-gw     rx_packets, encapsulated, drops
--   echo /mpf/ports | dpdk-telemetry.py -f mpf-gw     lan.pmd_imissed, path tx_bytes
--   echo /mpf/stats | dpdk-telemetry.py -f mpf-srv    decapsulated, nat_in2out, drops
-- drops.too_big counts oversize frames; drops.tx_full a path port that could not take more.
--
-- Expected outcome: nothing is claimed; no bare-metal figures exist yet. What the arithmetic
-- says: per frame the path carries 53 bytes more than the LAN (wire format v3, compact inner
-- header: docs/protocol.md 8), so with equal link speeds the path saturates first, the more so
-- the smaller the frames (64: 61 % of the LAN rate fits, 570: 92 %, 1518: 97 %, the mix: about
-- 88 %).
--
-- Pktgen's "port" statistics used here are refreshed once per second by its timer thread, so
-- the script waits 1.5 s after each phase before reading them. Results are printed and written
-- to CSV_FILE.

local SEND        = "0"                   -- Pktgen port towards the gateway LAN
local RECV        = "1"                   -- Pktgen port on the server WAN (or gateway path)
local GW_LAN_MAC  = "02:00:00:00:0a:01"   -- EDIT: the gateway's LAN port MAC (/mpf/ports)
local SRC_IP      = "192.168.10.2/24"     -- a LAN host (configs/gateway.conf: 192.168.10.0/24)
local DST_IP      = "198.51.100.2"        -- Host B
local SPORT, DPORT = 1234, 9
local RATE        = 100                   -- percent of port 0's link speed
local PHASE_MS    = 10000
local LARGE       = 1518
local CSV_FILE    = "/tmp/mpf-imix.csv"

-- 7:4:1, spread out so that the 1518-byte frame does not sit next to its kind.
local MIX = { 64, 570, 64, 64, 570, 64, LARGE, 64, 570, 64, 64, 570 }

local csv = assert(io.open(CSV_FILE, "w"))
csv:write("phase,duration_s,tx_pkts,rx_pkts,tx_mpps,rx_mpps,tx_mbit_l2,rx_mbit_l2,loss_pct\n")

local function say(fmt, ...)
    io.write(string.format(fmt, ...), "\n")
    io.flush()
end

local function snapshot()
    local tx = pktgen.portStats(SEND, "port")[tonumber(SEND)]
    local rx = pktgen.portStats(RECV, "port")[tonumber(RECV)]
    return { tx_pkts = tx.opackets, tx_bytes = tx.obytes,
             rx_pkts = rx.ipackets, rx_bytes = rx.ibytes }
end

local function report(name, a, b)
    local secs = PHASE_MS / 1000
    local txp, rxp = b.tx_pkts - a.tx_pkts, b.rx_pkts - a.rx_pkts
    local txb, rxb = b.tx_bytes - a.tx_bytes, b.rx_bytes - a.rx_bytes
    local loss = txp > 0 and 100 * (txp - rxp) / txp or 0
    -- Mbit/s from the bytes the NICs count (L2, usually without CRC, preamble and gap).
    say("%-8s tx %12.0f pkts %8.3f Mpps %9.1f Mbit/s | rx %12.0f pkts %8.3f Mpps %9.1f Mbit/s | loss %6.2f %%",
        name, txp, txp / secs / 1e6, txb * 8 / secs / 1e6, rxp, rxp / secs / 1e6,
        rxb * 8 / secs / 1e6, loss)
    csv:write(string.format("%s,%.1f,%.0f,%.0f,%.4f,%.4f,%.1f,%.1f,%.3f\n", name, secs, txp, rxp,
        txp / secs / 1e6, rxp / secs / 1e6, txb * 8 / secs / 1e6, rxb * 8 / secs / 1e6, loss))
    csv:flush()
end

local function run_phase(name)
    pktgen.delay(1500)                    -- let the last phase drain and the stats refresh
    local a = snapshot()
    pktgen.start(SEND)
    pktgen.delay(PHASE_MS)
    pktgen.stop(SEND)
    pktgen.delay(1500)
    report(name, a, snapshot())
end

-- Single-packet settings shared by every phase.
pktgen.stop(SEND)
pktgen.set(SEND, "seq_cnt", 0)            -- single-packet mode
pktgen.set_range(SEND, "off")
pktgen.set_type(SEND, "ipv4")
pktgen.set_proto(SEND, "udp")
pktgen.set_mac(SEND, "dst", GW_LAN_MAC)
pktgen.set_ipaddr(SEND, "src", SRC_IP)
pktgen.set_ipaddr(SEND, "dst", DST_IP)
pktgen.set(SEND, "sport", SPORT)
pktgen.set(SEND, "dport", DPORT)
pktgen.set(SEND, "ttl", 64)
pktgen.set(SEND, "count", 0)

say("imix.lua: port %s -> gateway LAN %s, %s -> %s, %d %% for %d ms per phase",
    SEND, GW_LAN_MAC, SRC_IP, DST_IP, RATE, PHASE_MS)

-- Warm-up: 1 % for 2 s so that both appliances have resolved ARP before the first phase.
pktgen.set(SEND, "size", 64)
pktgen.set(SEND, "rate", 1)
pktgen.start(SEND)
pktgen.delay(2000)
pktgen.stop(SEND)

for _, size in ipairs({ 64, 570, LARGE }) do
    pktgen.set(SEND, "size", size)
    pktgen.set(SEND, "rate", RATE)       -- recomputes the pacing for the new size
    run_phase(tostring(size))
end

-- The mix: a sequence of 12 packets that Pktgen sends round-robin. Pktgen paces sequences by
-- the average frame size of the sequence, so RATE keeps its meaning.
local src_mac = pktgen.portInfo(SEND)[tonumber(SEND)]["l2_l3_info"]["src_mac"]
for i, size in ipairs(MIX) do
    -- seq#, ports, dst MAC, src MAC, dst IP, src IP/mask, sport, dport, type, proto, vlan, size
    pktgen.seq(i - 1, SEND, GW_LAN_MAC, src_mac, DST_IP, SRC_IP, SPORT, DPORT, "ipv4", "udp", 1, size)
end
pktgen.set(SEND, "seq_cnt", #MIX)
pktgen.set(SEND, "rate", RATE)
run_phase("imix")

pktgen.set(SEND, "seq_cnt", 0)            -- back to single-packet mode
csv:close()
say("imix.lua: done, results in %s", CSV_FILE)
