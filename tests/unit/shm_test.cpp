// The shared-memory stats region: creation, attachment and its refusals, the sequence lock.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "shm/capture_name.hpp"
#include "shm/region.hpp"
#include "shm/seqlock.hpp"

using namespace mpf::shm;

namespace {

std::string temp_path(const char* tag) {
  return "/tmp/mpf-shm-test-" + std::string(tag) + "-" + std::to_string(::getpid());
}

}  // namespace

TEST(Shm, CreateThenAttachSeesHeader) {
  std::string err, path = temp_path("basic");
  auto w = MappedRegion::create(path, &err);
  ASSERT_TRUE(w) << err;
  EXPECT_EQ(w->path(), path);
  w->get()->hdr.n_lcores = 3;
  w->get()->lcores[1].stats.rx_packets = 42;
  auto r = MappedRegion::attach(path, false, &err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->get()->hdr.pid, ::getpid());
  EXPECT_EQ(r->get()->hdr.layout_version, kLayoutVersion);
  EXPECT_EQ(r->get()->hdr.n_lcores, 3u);
  EXPECT_EQ(r->get()->lcores[1].stats.rx_packets, 42u);  // the same memory, not a copy
  EXPECT_TRUE(r->still_current());
  w.reset();  // the creator unlinks
  EXPECT_FALSE(r->still_current());
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

TEST(Shm, NameMapsToDevShm) {
  EXPECT_EQ(region_path("gateway"), "/dev/shm/mpf-gateway");
  EXPECT_EQ(region_path("/tmp/x"), "/tmp/x");
}

TEST(Shm, FileModeIs0660) {
  std::string err, path = temp_path("mode");
  ::umask(0077);
  auto w = MappedRegion::create(path, &err);
  ::umask(0022);
  ASSERT_TRUE(w) << err;
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST(Shm, AttachRefusesMissingAndForeignFiles) {
  std::string err;
  EXPECT_FALSE(MappedRegion::attach(temp_path("missing"), false, &err));
  EXPECT_NE(err.find("is mpf-dataplane running"), std::string::npos) << err;
  std::string path = temp_path("foreign");
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  std::string junk(8192, 'x');
  ASSERT_EQ(::write(fd, junk.data(), junk.size()), ssize_t(junk.size()));
  ::close(fd);
  EXPECT_FALSE(MappedRegion::attach(path, false, &err));
  EXPECT_NE(err.find("bad magic"), std::string::npos) << err;
  ::unlink(path.c_str());
}

TEST(Shm, AttachRefusesAnotherLayoutVersion) {
  std::string err, path = temp_path("version");
  auto w = MappedRegion::create(path, &err);
  ASSERT_TRUE(w) << err;
  w->get()->hdr.layout_version = kLayoutVersion + 1;
  EXPECT_FALSE(MappedRegion::attach(path, false, &err));
  EXPECT_NE(err.find("different builds"), std::string::npos) << err;
}

TEST(Shm, CreateRefusesARegionOfALiveProcessAndReplacesAStaleOne) {
  std::string err, path = temp_path("owner");
  // A child creates the region and waits; while it lives, we may not take the name.
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::string e;
    auto r = MappedRegion::create(path, &e);
    char c = r ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    (void)!::read(go[0], &c, 1);
    r.release();  // die without unlinking, like a crash
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_FALSE(MappedRegion::create(path, &err));
  EXPECT_NE(err.find("running dataplane"), std::string::npos) << err;
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(::access(path.c_str(), F_OK), 0);  // left behind
  auto w = MappedRegion::create(path, &err);    // stale: replaced
  ASSERT_TRUE(w) << err;
  EXPECT_EQ(w->get()->hdr.pid, ::getpid());
  for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
}

TEST(Shm, OneExclusiveAttachAtATime) {
  std::string err, path = temp_path("flock");
  auto w = MappedRegion::create(path, &err);
  ASSERT_TRUE(w) << err;
  auto a = MappedRegion::attach(path, true, &err);
  ASSERT_TRUE(a) << err;
  EXPECT_FALSE(MappedRegion::attach(path, true, &err));
  EXPECT_NE(err.find("another control process"), std::string::npos) << err;
  EXPECT_TRUE(MappedRegion::attach(path, false, &err)) << err;  // readers are not refused
  a.reset();
  EXPECT_TRUE(MappedRegion::attach(path, true, &err)) << err;
}

TEST(Shm, SeqlockReaderNeverSeesATornCopy) {
  struct Pair {
    uint64_t a, b, c[30];
  };
  static uint64_t seq = 0;
  static Pair shared{};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (uint64_t i = 1; !stop.load(std::memory_order_relaxed); i++) {
      seq_write_begin(&seq);
      shared.a = i;
      for (auto& x : shared.c) x = i;
      shared.b = i;
      seq_write_end(&seq);
    }
  });
  unsigned good = 0;
  for (int n = 0; n < 20000; n++) {
    Pair p;
    if (!seq_read(&seq, &p, &shared, sizeof p)) continue;
    ASSERT_EQ(p.a, p.b);
    for (auto x : p.c) ASSERT_EQ(x, p.a);
    good++;
  }
  stop = true;
  writer.join();
  EXPECT_GT(good, 0u);
}

TEST(CaptureName, OnlyPlainNamesPass) {
  using mpf::shm::capture_name_ok;
  EXPECT_TRUE(capture_name_ok("lan.pcapng"));
  EXPECT_TRUE(capture_name_ok("mpfctl-123-1700000000.pcapng"));
  EXPECT_TRUE(capture_name_ok(std::string(200, 'a')));
  EXPECT_FALSE(capture_name_ok(std::string(201, 'a')));
  for (const char* bad : {"", ".", "..", ".x", "../etc/passwd", "/etc/passwd", "a/b", "a b", "a\nb",
                          "caf\xc3\xa9", "x\\y", "x;y"})
    EXPECT_FALSE(capture_name_ok(bad)) << bad;
}
