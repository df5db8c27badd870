// Internal to src/zfs: a fixed set of libzfs handles lent to one call at a
// time. A libzfs_handle_t is not thread-safe (its error state, its caches),
// but separate handles are independent, so calls that each hold their own
// run in parallel: reads no longer queue behind each other or behind a slow
// mutation. Every handle is opened before any call uses one (libzfs_init
// rewrites process-wide property tables). Includes libzfs (libspl): include
// it after every C++/abseil header, as nvlist.h.
#ifndef MVIRT_ZFS_ZFS_LIBZFS_HANDLES_H_
#define MVIRT_ZFS_ZFS_LIBZFS_HANDLES_H_

#include <libzfs.h>

#include <memory>
#include <vector>

#include "common/mutex.h"

namespace mvirt::zfs::internal {

class LibzfsHandles {
 public:
  // Takes ownership of `handles` (at least one); closes them at the end.
  explicit LibzfsHandles(std::vector<libzfs_handle_t*> handles) : free_(std::move(handles)) {}
  ~LibzfsHandles() {
    for (libzfs_handle_t* h : free_) libzfs_fini(h);
  }
  LibzfsHandles(const LibzfsHandles&) = delete;
  LibzfsHandles& operator=(const LibzfsHandles&) = delete;

  // One handle for the lifetime of the lease; waits while all are lent.
  // Converts to the handle, so it is passed where libzfs wants one.
  class Lease {
   public:
    explicit Lease(LibzfsHandles& pool) : pool_(pool), h_(pool.Take()) {}
    ~Lease() { pool_.Give(h_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    operator libzfs_handle_t*() const { return h_; }  // NOLINT: a handle by design

   private:
    LibzfsHandles& pool_;
    libzfs_handle_t* const h_;
  };

 private:
  libzfs_handle_t* Take() {
    MutexLock lock(&mu_);
    while (free_.empty()) returned_.Wait(&mu_);
    libzfs_handle_t* h = free_.back();
    free_.pop_back();
    return h;
  }
  void Give(libzfs_handle_t* h) {
    MutexLock lock(&mu_);
    free_.push_back(h);
    returned_.Signal();
  }

  Mutex mu_;
  CondVar returned_;
  std::vector<libzfs_handle_t*> free_ ABSL_GUARDED_BY(mu_);
};

// A dataset's and a pool's libzfs handle, closed at the end of scope.
struct ZfsHandleCloser {
  void operator()(zfs_handle_t* h) const { zfs_close(h); }
};
using ZfsHandle = std::unique_ptr<zfs_handle_t, ZfsHandleCloser>;
struct ZpoolHandleCloser {
  void operator()(zpool_handle_t* h) const { zpool_close(h); }
};
using ZpoolHandle = std::unique_ptr<zpool_handle_t, ZpoolHandleCloser>;

}  // namespace mvirt::zfs::internal

#endif  // MVIRT_ZFS_ZFS_LIBZFS_HANDLES_H_
