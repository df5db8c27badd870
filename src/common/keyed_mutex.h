// KeyedMutex: one mutex per key (e.g. per volume name), created on demand and
// dropped when unused, so operations on one name are serialized while
// different names proceed in parallel. Thread-safe.
#ifndef MVIRT_ZFS_COMMON_KEYED_MUTEX_H_
#define MVIRT_ZFS_COMMON_KEYED_MUTEX_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace mvirt::zfs {

class KeyedMutex {
 public:
  // Holds the key's mutex for its lifetime.
  class Lock {
   public:
    Lock(KeyedMutex& owner, std::string key);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    KeyedMutex& owner_;
    std::string key_;
    std::shared_ptr<std::mutex> mu_;
  };

 private:
  struct Entry {
    std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();
    int users = 0;
  };
  std::mutex table_mu_;
  std::map<std::string, Entry> table_;  // guarded by table_mu_
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_COMMON_KEYED_MUTEX_H_
