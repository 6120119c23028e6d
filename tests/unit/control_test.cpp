// mpf-controld and mpfctl internals: unit formatting, request validation, region reading (a
// region made and filled here by hand), the mailbox with a thread playing the dataplane's main
// lcore, the Prometheus text, the socket server's framing and isolation of clients.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "api.hpp"
#include "clock.hpp"
#include "controller.hpp"
#include "dataplane_link.hpp"
#include "metrics.hpp"
#include "region_view.hpp"
#include "server.hpp"
#include "shm/region.hpp"
#include "shm/seqlock.hpp"
#include "table.hpp"
#include "units.hpp"
#include "views.hpp"

namespace mpf::control {
namespace {

// ---- units and tables

TEST(ControlUnits, FormatsHumanUnits) {
  EXPECT_EQ(format_bit_rate(0), "0 bit/s");
  EXPECT_EQ(format_bit_rate(950), "950 bit/s");
  EXPECT_EQ(format_bit_rate(12.3e6), "12.3 Mbit/s");
  EXPECT_EQ(format_bit_rate(999'999), "1.0 Mbit/s");
  EXPECT_EQ(format_bit_rate(2.5e9), "2.5 Gbit/s");
  EXPECT_EQ(format_packet_rate(12), "12 pps");
  EXPECT_EQ(format_packet_rate(3400), "3.4 kpps");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1258291), "1.2 MiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_duration_us(850), "850 us");
  EXPECT_EQ(format_duration_us(4100), "4.1 ms");
  EXPECT_EQ(format_duration_us(2'500'000), "2.5 s");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(12'300), "12.3k");
  EXPECT_EQ(format_ratio_pct(0.0123), "1.2%");
  EXPECT_EQ(format_uptime(3723), "1h 02m");
}

TEST(ControlUnits, ParsesRates) {
  EXPECT_EQ(parse_bit_rate("48M"), 48'000'000u);
  EXPECT_EQ(parse_bit_rate("1.5G"), 1'500'000'000u);
  EXPECT_EQ(parse_bit_rate("500k"), 500'000u);
  EXPECT_EQ(parse_bit_rate("64000"), 64'000u);
  EXPECT_EQ(parse_bit_rate("10Mbit/s"), 10'000'000u);
  EXPECT_EQ(parse_bit_rate("0"), 0u);
  EXPECT_EQ(parse_duration_ms("20ms"), 20.0);
  EXPECT_EQ(parse_duration_ms("1.5ms"), 1.5);
  EXPECT_EQ(parse_duration_ms("500us"), 0.5);
  EXPECT_EQ(parse_duration_ms("2s"), 2000.0);
  EXPECT_EQ(parse_duration_ms("20"), 20.0);
  for (const char* bad : {"", "ms", "20 ms", "20m", "-1ms", "1e3ms"})
    EXPECT_FALSE(parse_duration_ms(bad).has_value()) << bad;
  EXPECT_EQ(parse_percent("1%"), 1.0);
  EXPECT_EQ(parse_percent("0.5%"), 0.5);
  EXPECT_EQ(parse_percent("100"), 100.0);
  for (const char* bad : {"", "%", "1%%", "one%", "-1%"})
    EXPECT_FALSE(parse_percent(bad).has_value()) << bad;
  for (const char* bad : {"", "M", "abc", "12X", "-5M", "1.2.3", "10 M"})
    EXPECT_FALSE(parse_bit_rate(bad).has_value()) << bad;
}

// The snapshot's writer is a polling lcore that a busy host may preempt mid-update: a reader
// waits it out (a CI run once failed `path set` when it did not), and gives up only on a writer
// that stays mid-update.
TEST(ControlSeqlock, AReaderWaitsOutAWriterPreemptedMidUpdate) {
  uint64_t seq = 0, shared = 7, copy = 0;
  shm::seq_write_begin(&seq);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    shared = 8;
    shm::seq_write_end(&seq);
  });
  EXPECT_TRUE(seq_read_patiently(&seq, &copy, &shared, sizeof copy));
  writer.join();
  EXPECT_EQ(copy, 8u);

  shm::seq_write_begin(&seq);  // a writer that died mid-update
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(seq_read_patiently(&seq, &copy, &shared, sizeof copy));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(ControlTable, AlignsColumns) {
  Table t({"name", "count"});
  t.right({1});
  t.add({"lan", "5"});
  t.add({"wifi-long", "12345"});
  EXPECT_EQ(t.render(), "name       count\nlan            5\nwifi-long  12345\n");
}

// ---- a region filled by hand, as the dataplane would

constexpr char kConfig[] = R"(role = "gateway";
lan = { port = "net_af_packet0"; address = "192.168.10.1/24"; };
tunnel = { id = 7; address = "100.64.0.7"; server = "10.99.0.1:4500"; key = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"; };
paths = (
  { name = "5g";   port = "net_af_packet1"; address = "10.5.0.2/24"; next_hop = "10.5.0.1"; },
  { name = "wifi"; port = "net_af_packet2"; address = "10.6.0.2/24"; next_hop = "10.6.0.1"; }
);
policy = (
  { match = { proto = "udp"; dst_port = "53"; }; mode = "pinned"; path = "5g"; },
  { match = { dscp = "ef"; }; mode = "redundant"; }
);
)";

void put(char* dst, size_t n, const std::string& s) { std::strncpy(dst, s.c_str(), n - 1); }

class RegionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    path_ = "/tmp/mpf-control-test-" + std::to_string(::getpid()) + "-" + std::to_string(serial++);
    std::string err;
    mapped_ = shm::MappedRegion::create(path_, &err);
    ASSERT_TRUE(mapped_) << err;
    fill(*mapped_->get());
    link_ = std::make_unique<DataplaneLink>(path_);
    link_->maintain(mono_ms());
    ASSERT_TRUE(link_->attached()) << link_->reason();
  }

  static void fill(shm::Region& r) {
    shm::Header& h = r.hdr;
    h.gateway = 1;
    put(h.name, sizeof h.name, "gw");
    put(h.version, sizeof h.version, "0.1.0");
    put(h.config_file, sizeof h.config_file, "/etc/mpf/gateway.conf");
    h.publish_interval_ms = 100;
    h.heartbeat = 1;
    h.heartbeat_unix_ms = unix_ms();
    h.n_lcores = 3;
    h.n_ports = 3;
    h.n_peers = 1;
    h.n_workers = 2;
    h.tsc_hz = 2'000'000'000;
    r.lcores[0] = {};
    r.lcores[0].lcore_id = 0;
    r.lcores[0].role = shm::LcoreRole::main;
    for (unsigned i = 1; i <= 2; i++) {
      r.lcores[i].lcore_id = i;
      r.lcores[i].role = shm::LcoreRole::worker;
      r.lcores[i].worker_index = uint8_t(i - 1);
      stats::LcoreStats& s = r.lcores[i].stats;
      s.rx_packets = 100 * i;
      s.rx_bytes = 150'000 * i;
      s.tx_packets = 90 * i;
      s.port_rx[0] = 60 * i;
      s.port_rx_bytes[0] = 1000 * i;
      s.drops[unsigned(Drop::ipv4_bad_checksum)] = 3 * i;
      s.polls = 1000;
      s.busy_polls = 250 * i;
      s.busy_cycles = 1'000'000 * i;
    }
    r.lcores[0].stats.arp_replies_sent = 4;

    shm::seq_write_begin(&r.snap_seq);
    shm::Snapshot& s = r.snap;
    const char* names[] = {"lan", "5g", "wifi"};
    for (unsigned i = 0; i < 3; i++) {
      put(s.ports[i].name, sizeof s.ports[i].name, names[i]);
      put(s.ports[i].device, sizeof s.ports[i].device, "net_af_packet" + std::to_string(i));
      s.ports[i].kind = i == 0 ? shm::PortKindCode::lan : shm::PortKindCode::path;
      s.ports[i].path_id = uint8_t(i == 0 ? 0 : i - 1);
      s.ports[i].ip = 0xc0a80a01;
      s.ports[i].prefix_len = 24;
      s.ports[i].link_up = 1;
    }
    shm::PeerSnap& p = s.peers[0];
    p.tunnel_id = 7;
    p.tunnel_addr = 0x64400007;
    p.n_paths = 2;
    for (unsigned k = 0; k < 2; k++) {
      shm::PathSnap& x = p.paths[k];
      put(x.name, sizeof x.name, names[k + 1]);
      x.configured = 1;
      x.up = x.health_up = uint8_t(k == 0);
      x.weight = 1;
      x.srtt_us = 30'000 + 1000 * k;
      x.loss_ppm = 10'000;
      x.tx_bytes = 5000;
      x.last_rx_age_ms = ~0ull;
    }
    s.nat[1].sessions = 10;
    s.nat[1].capacity = 100;
    s.nat[2].sessions = 30;
    s.nat[2].capacity = 100;
    s.reorder.in_order = 42;
    shm::seq_write_end(&r.snap_seq);

    std::memcpy(r.config_text, kConfig, sizeof kConfig - 1);
    h.config_text_len = sizeof kConfig - 1;
    __atomic_store_n(&h.ready, 1u, __ATOMIC_RELEASE);
  }

  // One request line through a controller; the single answer, parsed.
  // A command the dataplane answers through the mailbox.
  json call(Controller& c, const std::string& line) {
    answers_.clear();
    c.request(1, line, mono_ms());
    return wait_answer(c);
  }
  json ask(Controller& c, const std::string& line) {
    answers_.clear();
    c.request(1, line, mono_ms());
    EXPECT_EQ(answers_.size(), 1u) << line;
    return answers_.empty() ? json() : json::parse(answers_.back());
  }
  Controller controller(uint64_t timeout_ms = 2000) {
    return Controller(link_.get(), [this](uint64_t, const std::string& l) { answers_.push_back(l); },
                      timeout_ms);
  }
  // Ticks until an answer arrives (or 3 s pass).
  json wait_answer(Controller& c) {
    uint64_t end = mono_ms() + 3000;
    while (answers_.empty() && mono_ms() < end) {
      c.tick(mono_ms());
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    EXPECT_FALSE(answers_.empty());
    return answers_.empty() ? json() : json::parse(answers_.back());
  }

  shm::Region& region() { return *mapped_->get(); }

  std::string path_;
  std::unique_ptr<shm::MappedRegion> mapped_;
  std::unique_ptr<DataplaneLink> link_;
  std::vector<std::string> answers_;
};

std::string code_of(const json& resp) {
  return resp.value("ok", true) ? "ok" : resp["error"].value("code", "?");
}

// ---- request validation

TEST(ControlRequests, RefusesMalformedRequests) {
  DataplaneLink link("/tmp/mpf-control-test-none-" + std::to_string(::getpid()));
  std::vector<std::string> out;
  Controller c(&link, [&](uint64_t, const std::string& l) { out.push_back(l); });
  auto ask = [&](const std::string& line) {
    out.clear();
    c.request(1, line, mono_ms());
    EXPECT_EQ(out.size(), 1u) << line;
    return out.empty() ? json() : json::parse(out[0]);
  };
  EXPECT_EQ(code_of(ask("{not json")), "bad_request");
  EXPECT_EQ(code_of(ask("[1,2]")), "bad_request");
  EXPECT_EQ(code_of(ask("\"stats\"")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":5})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"args":{}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"stats","extra":1})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"stats","args":[1]})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"stats","args":null})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"stats","args":{"x":1}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"nope"})")), "unknown_command");
  EXPECT_EQ(code_of(ask(R"({"cmd":"flows","args":{"top":"ten"}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"flows","args":{"top":0}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"flows","args":{"top":2.5}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"flows","args":{"proto":"sctp"}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"flows","args":{"addr":"10.0.0.300"}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"path.set","args":{"path":"5g","weight":1001}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"path.set","args":{"path":"5g","max_rate":"fast"}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"path.set","args":{"path":"5g","max_rate":1000}})")), "bad_request");
  EXPECT_EQ(code_of(ask(R"({"cmd":"path.set","args":{"path":"5g"}})")), "bad_request");
  // Impairments: known keys only, each in range; a queue belongs to a rate.
  for (const char* im : {R"({"loss":0.1})", R"({"loss_pct":101})", R"({"loss_pct":"1%"})",
                         R"({"delay_ms":-1})", R"({"delay_ms":10001})", R"({"queue_ms":20})",
                         R"({"rate":"30M","queue_ms":0})", R"({"rate":"auto"})", R"({"rate":1000})",
                         R"({"direction":"up"})", R"("on")", R"(true)"})
    EXPECT_EQ(code_of(ask(std::string(R"({"cmd":"path.set","args":{"path":"5g","impairment":)") + im + "}}")),
              "bad_request")
        << im;
  // Capture files are plain names in the dataplane's capture directory: no path reaches it.
  for (const char* f : {"/tmp/x.pcapng", "../x.pcapng", "a/b.pcapng", ".hidden", "", "x y.pcapng"})
    EXPECT_EQ(code_of(ask(std::string(R"({"cmd":"capture","args":{"action":"start","port":"lan","count":5,"file":")") +
                          f + "\"}}")),
              "bad_request")
        << f;
  EXPECT_EQ(code_of(ask(R"({"cmd":"capture","args":{"action":"start","port":"lan","file":"x.pcapng"}})")),
            "bad_request");  // no count, no duration
  // Valid requests without a dataplane.
  EXPECT_EQ(code_of(ask(R"({"cmd":"stats"})")), "dataplane_unavailable");
  EXPECT_EQ(code_of(ask(R"({"cmd":"flows","args":{"top":5,"proto":"tcp"}})")), "dataplane_unavailable");
  json st = ask(R"({"cmd":"status","id":"s1"})");
  EXPECT_TRUE(st["ok"].get<bool>());
  EXPECT_EQ(st["id"], "s1");
  EXPECT_FALSE(st["result"]["attached"].get<bool>());
  // The id comes back whatever its type, on errors too; blank lines get no answer.
  EXPECT_EQ(ask(R"({"cmd":"nope","id":{"a":[1]}})")["id"], json({{"a", {1}}}));
  out.clear();
  c.request(1, "  \r", mono_ms());
  EXPECT_TRUE(out.empty());
  // Invalid UTF-8 in a string still gets a JSON answer.
  json u = ask("{\"cmd\":\"x\xff\"}");
  EXPECT_EQ(code_of(u), "bad_request");
}

// ---- reading the region

TEST_F(RegionTest, StatsSumOverLcores) {
  Controller c = controller();
  json r = ask(c, R"({"cmd":"stats","id":1})");
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  const json& res = r["result"];
  EXPECT_EQ(res["role"], "gateway");
  EXPECT_EQ(res["name"], "gw");
  EXPECT_EQ(res["counters"]["rx_packets"], 300);
  EXPECT_EQ(res["counters"]["rx_bytes"], 450'000);
  EXPECT_EQ(res["counters"]["arp_replies_sent"], 4);
  EXPECT_EQ(res["counters"].size(), stats::kLcoreCounters);
  EXPECT_EQ(res["dropped"], 9);
  EXPECT_EQ(res["drops"], json({{"ipv4_bad_checksum", 9}}));
  ASSERT_EQ(res["lcores"].size(), 3u);
  EXPECT_EQ(res["lcores"][0]["role"], "main");
  EXPECT_TRUE(res["lcores"][0]["worker"].is_null());
  EXPECT_EQ(res["lcores"][2]["rx_packets"], 200);
  EXPECT_EQ(res["lcores"][2]["dropped"], 6);
  EXPECT_DOUBLE_EQ(res["lcores"][2]["busy_ratio"].get<double>(), 0.5);
  EXPECT_EQ(res["tsc_hz"], 2'000'000'000u);
  // Watching: busy share from cycles over the interval (1e9 cycles in 1 s at 2 GHz = 50%).
  json later = res;
  later["time_unix_ms"] = res["time_unix_ms"].get<uint64_t>() + 1000;
  later["lcores"][1]["busy_cycles"] = 1'001'000'000u;
  EXPECT_NE(view_stats(later, res).find("50.0%"), std::string::npos) << view_stats(later, res);
  EXPECT_EQ(res["nat"]["sessions"], 40);
  EXPECT_EQ(res["nat"]["capacity"], 200);
  EXPECT_EQ(res["reorder"]["in_order"], 42);
  EXPECT_NE(view_stats(res, json()).find("ipv4_bad_checksum"), std::string::npos);
}

TEST_F(RegionTest, PortsPathsLcoresDropsNat) {
  Controller c = controller();
  json ports = ask(c, R"({"cmd":"ports"})")["result"]["ports"];
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0]["name"], "lan");
  EXPECT_EQ(ports[0]["address"], "192.168.10.1/24");
  EXPECT_EQ(ports[0]["rx_packets"], 180);
  EXPECT_TRUE(ports[0]["path_id"].is_null());
  EXPECT_EQ(ports[2]["path_id"], 1);

  json paths = ask(c, R"({"cmd":"paths"})")["result"]["paths"];
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0]["name"], "5g");
  EXPECT_EQ(paths[0]["state"], "up");
  EXPECT_EQ(paths[1]["state"], "down");
  EXPECT_EQ(paths[0]["peer"], 7);
  EXPECT_DOUBLE_EQ(paths[0]["loss_ratio"].get<double>(), 0.01);
  EXPECT_TRUE(paths[0]["last_rx_age_ms"].is_null());

  json drops = ask(c, R"({"cmd":"drops"})")["result"];
  EXPECT_EQ(drops["reasons"].size(), kDropReasons - 1);
  EXPECT_EQ(drops["total"], 9);
  for (const json& d : drops["reasons"]) EXPECT_FALSE(d["description"].get<std::string>().empty());

  json nat = ask(c, R"({"cmd":"nat"})")["result"];
  ASSERT_EQ(nat["lcores"].size(), 2u);  // the main lcore has no NAT table
  EXPECT_DOUBLE_EQ(nat["lcores"][0]["occupancy"].get<double>(), 0.1);
  EXPECT_EQ(nat["totals"]["sessions"], 40);

  json lcores = ask(c, R"({"cmd":"lcores"})")["result"]["lcores"];
  EXPECT_EQ(lcores.size(), 3u);
  EXPECT_EQ(lcores[1]["nat_sessions"], 10);

  json st = ask(c, R"({"cmd":"status"})")["result"];
  EXPECT_TRUE(st["attached"].get<bool>());
  EXPECT_EQ(st["pid"], ::getpid());
  EXPECT_EQ(st["config_file"], "/etc/mpf/gateway.conf");
}

TEST_F(RegionTest, ConfigAndPolicyFromThePublishedText) {
  Controller c = controller();
  json cfg = ask(c, R"({"cmd":"config"})")["result"];
  EXPECT_EQ(cfg["config_text"], kConfig);
  json pol = ask(c, R"({"cmd":"policy"})");
  ASSERT_TRUE(pol["ok"].get<bool>()) << pol.dump();
  const json& rules = pol["result"]["rules"];
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0]["mode"], "pinned");
  EXPECT_EQ(rules[0]["path"], "5g");
  EXPECT_EQ(rules[0]["match"]["proto"], "udp");
  EXPECT_EQ(rules[0]["match"]["dst_port"], "53");
  EXPECT_EQ(rules[1]["match"]["dscp"], 46);
  EXPECT_EQ(pol["result"]["default"]["mode"], "aggregate");
}

// ---- the mailbox, with a thread as the dataplane's main lcore

// Answers every request with `status` (after running `work`), until stopped.
class FakeMainLcore {
 public:
  FakeMainLcore(shm::Region& r, std::function<shm::Status(const shm::Request&, shm::Response&)> work)
      : r_(r),
        work_(std::move(work)),
        seen_(__atomic_load_n(&r.mailbox.req_seq, __ATOMIC_ACQUIRE)),  // before any request
        t_([this] { loop(); }) {}
  ~FakeMainLcore() {
    stop_ = true;
    t_.join();
  }
  shm::Request last{};

 private:
  void loop() {
    uint64_t seen = seen_;
    while (!stop_) {
      uint64_t s = __atomic_load_n(&r_.mailbox.req_seq, __ATOMIC_ACQUIRE);
      if (s == seen) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        continue;
      }
      seen = s;
      last = r_.mailbox.req;
      shm::Response resp{};
      resp.status = work_(last, resp);
      r_.mailbox.resp = resp;
      __atomic_store_n(&r_.mailbox.resp_seq, s, __ATOMIC_RELEASE);
    }
  }
  shm::Region& r_;
  std::function<shm::Status(const shm::Request&, shm::Response&)> work_;
  std::atomic<bool> stop_{false};
  uint64_t seen_;
  std::thread t_;
};

TEST_F(RegionTest, PathSetGoesThroughTheMailbox) {
  Controller c = controller();
  FakeMainLcore main(region(), [&](const shm::Request& q, shm::Response&) {
    // Apply to the snapshot, as the dataplane's next publish would.
    shm::seq_write_begin(&region().snap_seq);
    region().snap.peers[q.path_set.peer_index].paths[q.path_set.path_id].admin = q.path_set.admin;
    region().snap.peers[q.path_set.peer_index].paths[q.path_set.path_id].max_rate_bps = q.path_set.max_rate_bps;
    shm::seq_write_end(&region().snap_seq);
    return shm::Status::ok;
  });
  answers_.clear();
  c.request(1, R"({"cmd":"path.set","id":9,"args":{"path":"wifi","state":"down","max_rate":"28M"}})", mono_ms());
  EXPECT_TRUE(c.pending(1));
  json r = wait_answer(c);
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["id"], 9);
  EXPECT_EQ(r["result"]["admin"], "down");
  EXPECT_EQ(r["result"]["path"], "wifi");
  EXPECT_EQ(r["result"]["max_rate_bps"], 28'000'000);
  EXPECT_EQ(main.last.op, shm::Op::path_set);
  EXPECT_EQ(main.last.path_set.peer_index, 0u);
  EXPECT_EQ(main.last.path_set.path_id, 1);
  EXPECT_EQ(main.last.path_set.set_admin, 1);
  EXPECT_EQ(main.last.path_set.weight, shm::kKeepWeight);
  EXPECT_FALSE(c.busy());

  // Names are resolved before the dataplane is asked.
  EXPECT_EQ(code_of(ask(c, R"({"cmd":"path.set","args":{"path":"lte","state":"up"}})")), "not_found");
  EXPECT_EQ(code_of(ask(c, R"({"cmd":"path.set","args":{"path":"5g","peer":99,"state":"up"}})")), "not_found");
}

TEST_F(RegionTest, PathSetImpairment) {
  // An impairment: what the dataplane gets, and the answer from the next snapshot.
  Controller c = controller();
  FakeMainLcore main2(region(), [&](const shm::Request& q, shm::Response&) {
    shm::seq_write_begin(&region().snap_seq);
    shm::PathSnap& p = region().snap.peers[q.path_set.peer_index].paths[q.path_set.path_id];
    for (unsigned d = 0; d < 2; d++)
      if (q.path_set.impair_dirs & (1u << d)) p.impair[d] = q.path_set.impair;
    shm::seq_write_end(&region().snap_seq);
    return shm::Status::ok;
  });
  json r = call(c, R"({"cmd":"path.set","args":{"path":"wifi","impairment":{"delay_ms":20,"jitter_ms":2.5,"loss_pct":1,"rate":"30M"}}})");
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(main2.last.path_set.impair_dirs, 3);
  EXPECT_EQ(main2.last.path_set.set_admin, 0);
  EXPECT_EQ(main2.last.path_set.max_rate_bps, shm::kKeepRate);
  EXPECT_EQ(main2.last.path_set.impair.delay_us, 20'000u);
  EXPECT_EQ(main2.last.path_set.impair.jitter_us, 2'500u);
  EXPECT_EQ(main2.last.path_set.impair.loss_ppm, 10'000u);
  EXPECT_EQ(main2.last.path_set.impair.rate_bps, 30'000'000u);
  EXPECT_EQ(main2.last.path_set.impair.queue_us, 50'000u);  // the default queue of a rate
  EXPECT_EQ(r["result"]["impairment"]["tx"]["delay_ms"], 20.0);
  EXPECT_EQ(r["result"]["impairment"]["rx"]["loss_pct"], 1.0);
  EXPECT_EQ(impairment_text(r["result"]),
            "delay 20.0 ms jitter 2.5 ms loss 1.0% rate 30.0 Mbit/s queue 50.0 ms (both ways)");
  r = call(c, R"({"cmd":"path.set","args":{"path":"wifi","impairment":{"loss_pct":100,"direction":"rx"}}})");
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(main2.last.path_set.impair_dirs, 2);
  EXPECT_EQ(main2.last.path_set.impair.loss_ppm, 1'000'000u);
  EXPECT_EQ(main2.last.path_set.impair.queue_us, 0u);
  EXPECT_EQ(impairment_text(r["result"]),
            "tx delay 20.0 ms jitter 2.5 ms loss 1.0% rate 30.0 Mbit/s queue 50.0 ms, rx loss 100.0%");
  r = call(c, R"({"cmd":"path.set","args":{"path":"wifi","impairment":"off"}})");
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(main2.last.path_set.impair_dirs, 3);
  EXPECT_EQ(main2.last.path_set.impair.loss_ppm, 0u);
  EXPECT_TRUE(r["result"]["impairment"]["tx"].is_null());
  EXPECT_EQ(impairment_text(r["result"]), "");

}

TEST_F(RegionTest, DataplaneRefusalAndTimeout) {
  {
    Controller c = controller();
    FakeMainLcore main(region(), [](const shm::Request&, shm::Response& resp) {
      std::strcpy(resp.message, "a capture already runs");
      return shm::Status::busy;
    });
    answers_.clear();
    c.request(1, R"({"cmd":"capture","args":{"action":"start","port":"wifi","count":10,"file":"a.pcapng"}})",
              mono_ms());
    json r = wait_answer(c);
    EXPECT_EQ(code_of(r), "busy");
    EXPECT_EQ(r["error"]["message"], "a capture already runs");
    EXPECT_EQ(main.last.capture.port_index, 2);  // the path "wifi" is port 2
    EXPECT_EQ(main.last.capture.count, 10u);
    EXPECT_STREQ(main.last.capture.file, "a.pcapng");
  }
  Controller c = controller(50);  // nobody answers
  answers_.clear();
  c.request(1, R"({"cmd":"capture","args":{"action":"status"}})", mono_ms());
  json r = wait_answer(c);
  EXPECT_EQ(code_of(r), "dataplane_timeout");
}

TEST_F(RegionTest, FlowsMergeWorkerLists) {
  Controller c = controller();
  FakeMainLcore main(region(), [&](const shm::Request& q, shm::Response&) {
    shm::Region& r = region();
    uint64_t gen = r.flow_gen + 1;
    for (unsigned slot = 1; slot <= 2; slot++) {
      shm::FlowSlot& f = r.flows[slot];
      shm::seq_write_begin(&f.seq);
      f.n = 3;
      f.matched = 5;
      f.scanned = 50;
      for (unsigned k = 0; k < 3; k++) {
        f.flows[k] = {};
        f.flows[k].proto = 6;
        f.flows[k].inside_ip = 0xc0a80a02;
        f.flows[k].inside_port = uint16_t(1000 * slot + k);
        f.flows[k].bytes_out = 1000 * (3 - k) + slot;  // sorted within the slot
      }
      f.done_gen = gen;
      shm::seq_write_end(&f.seq);
    }
    EXPECT_EQ(q.flows.top, 4u);
    EXPECT_EQ(q.flows.filter.proto, 6);
    EXPECT_EQ(q.flows.filter.prefix_len, 24);
    EXPECT_EQ(q.flows.filter.addr, 0xc0a80a00u);
    __atomic_store_n(&r.flow_gen, gen, __ATOMIC_RELEASE);
    return shm::Status::ok;
  });
  answers_.clear();
  c.request(1, R"({"cmd":"flows","args":{"top":4,"proto":"tcp","addr":"192.168.10.7/24"}})", mono_ms());
  json r = wait_answer(c);
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  const json& flows = r["result"]["flows"];
  ASSERT_EQ(flows.size(), 4u);
  EXPECT_EQ(flows[0]["bytes"], 3002);
  EXPECT_EQ(flows[1]["bytes"], 3001);
  EXPECT_EQ(flows[2]["bytes"], 2002);
  EXPECT_EQ(flows[0]["inside_port"], 2000);
  EXPECT_EQ(flows[0]["proto"], "tcp");
  EXPECT_EQ(r["result"]["matched"], 10);
  EXPECT_EQ(r["result"]["lcores_answered"], 2);
}

TEST_F(RegionTest, AnswersKeepOrderAndGoneClientsAreForgotten) {
  Controller c = controller(200);
  answers_.clear();
  c.request(1, R"({"cmd":"capture","args":{"action":"status"},"id":1})", mono_ms());
  c.request(2, R"({"cmd":"capture","args":{"action":"status"},"id":2})", mono_ms());
  EXPECT_TRUE(c.pending(2));
  c.forget(2);
  EXPECT_FALSE(c.pending(2));
  json r = wait_answer(c);
  EXPECT_EQ(r["id"], 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.tick(mono_ms());
  EXPECT_EQ(answers_.size(), 1u);  // nothing for the forgotten client
  EXPECT_FALSE(c.busy());
}

// ---- liveness

TEST_F(RegionTest, DetachesWhenTheRegionIsRemovedOrTheHeartbeatStops) {
  uint64_t t0 = mono_ms();
  link_->maintain(t0 + 500);
  EXPECT_TRUE(link_->attached());
  link_->maintain(t0 + 1600);  // heartbeat unchanged for > 1 s
  EXPECT_FALSE(link_->attached());
  link_->maintain(t0 + 1800);  // the same dead region is not attached again
  EXPECT_FALSE(link_->attached());
  region().hdr.heartbeat++;    // it moves again: attach
  link_->maintain(t0 + 2000);
  EXPECT_TRUE(link_->attached());
  ::unlink(path_.c_str());
  link_->maintain(t0 + 2100);
  EXPECT_FALSE(link_->attached());
}

// ---- Prometheus

TEST_F(RegionTest, PrometheusTextIsWellFormed) {
  std::string text = metrics_text(link_->region(), unix_ms());
  std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  std::regex sample_re(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN))");
  std::set<std::string> typed, seen_families;
  std::istringstream in(text);
  std::string line;
  unsigned samples = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream w(line.substr(7));
      std::string name, type;
      w >> name >> type;
      EXPECT_TRUE(std::regex_match(name, name_re)) << name;
      EXPECT_TRUE(type == "counter" || type == "gauge") << line;
      EXPECT_TRUE(typed.insert(name).second) << "TYPE twice: " << name;
      if (type == "counter") {
        EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << name;
      }
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    ASSERT_TRUE(std::regex_match(line, m, sample_re)) << line;
    EXPECT_TRUE(typed.count(m[1])) << "sample without TYPE: " << line;
    EXPECT_EQ(m[1].str().rfind("mpf_", 0), 0u) << line;
    samples++;
  }
  EXPECT_GT(samples, 100u);
  EXPECT_NE(text.find("mpf_dataplane_up 1\n"), std::string::npos);
  EXPECT_NE(text.find("mpf_rx_packets_total 300\n"), std::string::npos);
  EXPECT_NE(text.find("mpf_drops_total{reason=\"ipv4_bad_checksum\"} 9\n"), std::string::npos);
  EXPECT_NE(text.find("mpf_port_rx_packets_total{port=\"lan\"} 180\n"), std::string::npos);
  EXPECT_NE(text.find("mpf_path_up{path=\"5g\",peer=\"7\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("mpf_lcore_busy_seconds_total{lcore=\"2\",role=\"worker\"} 0.001\n"), std::string::npos);
  EXPECT_EQ(text.find("mpf_busy_cycles_total"), std::string::npos);
  EXPECT_NE(text.find("mpf_path_rtt_seconds{path=\"5g\",peer=\"7\"} 0.03\n"), std::string::npos);
  EXPECT_NE(text.find("mpf_path_loss_ratio{path=\"5g\",peer=\"7\"} 0.01\n"), std::string::npos);
  EXPECT_EQ(metrics_text(nullptr, 0), "# HELP mpf_dataplane_up 1 while mpf-controld is attached to a live dataplane\n"
                                      "# TYPE mpf_dataplane_up gauge\nmpf_dataplane_up 0\n");
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

// ---- the socket server

int connect_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string read_line(int fd) {
  std::string s;
  char ch;
  while (::recv(fd, &ch, 1, 0) == 1 && ch != '\n') s += ch;
  return s;
}

TEST_F(RegionTest, ServerFramesLinesAndIsolatesClients) {
  std::string dir = "/tmp/mpf-control-test-sock-" + std::to_string(::getpid());
  ServerOptions opt;
  opt.socket_path = dir + "/sub/control.sock";
  auto server_ptr = std::make_unique<Server>(link_.get(), opt);
  Server& server = *server_ptr;
  std::string err;
  ASSERT_TRUE(server.open(&err)) << err;
  volatile std::sig_atomic_t stop = 0;
  std::thread t([&] { server.run(&stop); });

  int big = connect_unix(opt.socket_path);
  int a = connect_unix(opt.socket_path);
  ASSERT_GE(big, 0);
  ASSERT_GE(a, 0);
  // A client sending half a line holds nobody up.
  ASSERT_EQ(::send(big, "{\"cmd\":", 7, 0), 7);
  std::string two = "{\"cmd\":\"status\",\"id\":1}\n{\"cmd\":\"drops\",\"id\":2}\n";
  ASSERT_EQ(::send(a, two.data(), two.size(), 0), ssize_t(two.size()));
  json r1 = json::parse(read_line(a));
  json r2 = json::parse(read_line(a));
  EXPECT_EQ(r1["id"], 1);
  EXPECT_EQ(r2["id"], 2);
  EXPECT_TRUE(r2["ok"].get<bool>());
  // Then it sends more than 64 KiB without a newline: too_large, and closed.
  std::string junk(kMaxLine + 10, 'x');
  ::send(big, junk.data(), junk.size(), MSG_NOSIGNAL);
  json r3 = json::parse(read_line(big));
  EXPECT_EQ(code_of(r3), "too_large");
  char ch;
  EXPECT_EQ(::recv(big, &ch, 1, 0), 0);  // closed by the server
  // The other client is still served; a client that vanishes mid-line changes nothing.
  int gone = connect_unix(opt.socket_path);
  ::send(gone, "{\"cmd\":\"sta", 11, 0);
  ::close(gone);
  ::send(a, "{\"cmd\":\"stats\",\"id\":3}\n", 23, 0);
  EXPECT_EQ(json::parse(read_line(a))["id"], 3);
  ::close(a);
  ::close(big);
  stop = 1;
  t.join();
  server_ptr.reset();  // removes the socket file
  EXPECT_NE(::access(opt.socket_path.c_str(), F_OK), 0);
  struct stat st{};
  EXPECT_EQ(::stat((dir + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  ::rmdir((dir + "/sub").c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace mpf::control
