// Creating (dataplane) and attaching to (control process) the shared-memory stats region
// described in shm/layout.hpp. Knows files and mappings, nothing of DPDK.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>

#include "shm/layout.hpp"

namespace mpf::shm {

// "/dev/shm/mpf-<name>" for a name; a value holding '/' is taken as the file's path itself.
std::string region_path(const std::string& name_or_path);

class MappedRegion {
 public:
  // Dataplane: creates the region for `name`, mode 0660, zeroed, header magic/version/sizes/pid
  // filled (ready = 0). Replaces a stale region left by a dead dataplane; refuses (nullptr,
  // *error) when a live process still owns it. The object unlinks the file when destroyed.
  static std::unique_ptr<MappedRegion> create(const std::string& name, std::string* error);

  // Control process: maps an existing region read-write (the mailbox needs writing). nullptr
  // with *error when it does not exist, is not an mpf region, or has another layout version.
  // With exclusive, also takes an flock so that one control process at a time commands it.
  static std::unique_ptr<MappedRegion> attach(const std::string& name_or_path, bool exclusive,
                                              std::string* error);

  ~MappedRegion();
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;

  Region* get() const { return region_; }
  Region* operator->() const { return region_; }
  const std::string& path() const { return path_; }
  // Identity of the mapped file: a restarted dataplane makes a new file (another inode).
  ino_t inode() const { return inode_; }
  // True while the file at path() is still the one mapped (not unlinked or replaced).
  bool still_current() const;

 private:
  MappedRegion() = default;
  Region* region_ = nullptr;
  int fd_ = -1;
  ino_t inode_ = 0;
  bool owner_ = false;
  std::string path_;
};

// True when the process `pid` exists (kill(pid, 0)).
bool process_alive(int pid);

}  // namespace mpf::shm
