#include "common/keyed_mutex.h"

namespace mvirt::zfs {

KeyedMutex::Lock::Lock(KeyedMutex& owner, std::string key)
    : owner_(owner), key_(std::move(key)) {
  {
    std::lock_guard table_lock(owner_.table_mu_);
    Entry& e = owner_.table_[key_];
    ++e.users;
    mu_ = e.mu;
  }
  mu_->lock();
}

KeyedMutex::Lock::~Lock() {
  mu_->unlock();
  std::lock_guard table_lock(owner_.table_mu_);
  auto it = owner_.table_.find(key_);
  if (--it->second.users == 0) owner_.table_.erase(it);
}

}  // namespace mvirt::zfs
