#include "shm/region.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace mpf::shm {

namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

uint64_t unix_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

// The pid recorded in an existing region file, or 0 when it is not a readable mpf region.
int recorded_pid(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  Header h{};
  ssize_t n = ::pread(fd, &h, sizeof h, 0);
  ::close(fd);
  if (n != ssize_t(sizeof h) || std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return 0;
  return h.pid;
}

}  // namespace

std::string region_path(const std::string& name_or_path) {
  if (name_or_path.find('/') != std::string::npos) return name_or_path;
  return "/dev/shm/mpf-" + name_or_path;
}

bool process_alive(int pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

std::unique_ptr<MappedRegion> MappedRegion::create(const std::string& name, std::string* error) {
  std::string path = region_path(name);
  int old = recorded_pid(path);
  if (old && old != int(::getpid()) && process_alive(old)) {
    *error = "stats region " + path + " belongs to a running dataplane (pid " +
             std::to_string(old) + "); give this one another control.name";
    return nullptr;
  }
  ::unlink(path.c_str());  // stale, from a dataplane that died
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0660);
  if (fd < 0) {
    *error = errno_text("cannot create stats region", path);
    return nullptr;
  }
  ::fchmod(fd, 0660);  // not subject to the umask: the control group must read and write it
  if (::ftruncate(fd, sizeof(Region)) != 0) {
    *error = errno_text("cannot size stats region", path);
    ::close(fd);
    ::unlink(path.c_str());
    return nullptr;
  }
  void* p = ::mmap(nullptr, sizeof(Region), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    *error = errno_text("cannot map stats region", path);
    ::close(fd);
    ::unlink(path.c_str());
    return nullptr;
  }
  struct stat st{};
  ::fstat(fd, &st);
  std::unique_ptr<MappedRegion> r(new MappedRegion);
  r->region_ = static_cast<Region*>(p);
  r->fd_ = fd;
  r->inode_ = st.st_ino;
  r->owner_ = true;
  r->path_ = path;
  Header& h = r->region_->hdr;  // the file is fresh: already all zero
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.layout_version = kLayoutVersion;
  h.region_size = sizeof(Region);
  h.lcore_counters = stats::kLcoreCounters;
  h.drop_reasons = kDropReasons;
  h.pid = int32_t(::getpid());
  h.start_unix_ms = unix_ms();
  return r;
}

std::unique_ptr<MappedRegion> MappedRegion::attach(const std::string& name_or_path,
                                                   bool exclusive, std::string* error) {
  std::string path = region_path(name_or_path);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *error = errno == ENOENT ? "no dataplane stats region at " + path + " (is mpf-dataplane running?)"
                             : errno_text("cannot open stats region", path);
    return nullptr;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || size_t(st.st_size) < sizeof(Header)) {
    *error = path + " is not an mpf stats region (too small)";
    ::close(fd);
    return nullptr;
  }
  Header h{};
  if (::pread(fd, &h, sizeof h, 0) != ssize_t(sizeof h) ||
      std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    *error = path + " is not an mpf stats region (bad magic)";
    ::close(fd);
    return nullptr;
  }
  if (h.layout_version != kLayoutVersion || h.region_size != sizeof(Region) ||
      size_t(st.st_size) < sizeof(Region) || h.lcore_counters != stats::kLcoreCounters ||
      h.drop_reasons != kDropReasons) {
    *error = path + ": stats layout " + std::to_string(h.layout_version) + "/" +
             std::to_string(h.region_size) + " differs from this build's " +
             std::to_string(kLayoutVersion) + "/" + std::to_string(sizeof(Region)) +
             " (dataplane and control from different builds)";
    ::close(fd);
    return nullptr;
  }
  if (exclusive && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    *error = "another control process already commands " + path;
    ::close(fd);
    return nullptr;
  }
  void* p = ::mmap(nullptr, sizeof(Region), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    *error = errno_text("cannot map stats region", path);
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<MappedRegion> r(new MappedRegion);
  r->region_ = static_cast<Region*>(p);
  r->fd_ = fd;
  r->inode_ = st.st_ino;
  r->path_ = path;
  return r;
}

bool MappedRegion::still_current() const {
  struct stat st{};
  return ::stat(path_.c_str(), &st) == 0 && st.st_ino == inode_;
}

MappedRegion::~MappedRegion() {
  if (region_) ::munmap(region_, sizeof(Region));
  if (owner_ && still_current()) ::unlink(path_.c_str());
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mpf::shm
