// StallWatchdog: ends server streams whose client stopped reading. A write
// to a client whose transport window is full never completes; a subscriber
// that never reads again would hold its stream (and its subscription)
// forever. The watchdog cancels a call whose current write has waited
// longer than its limit; the client, if it ever reads again, sees the
// stream end with CANCELLED and resubscribes. Thread-safe.
#ifndef MVIRT_ZFS_SERVICE_STALL_WATCHDOG_H_
#define MVIRT_ZFS_SERVICE_STALL_WATCHDOG_H_

#include <grpcpp/grpcpp.h>

#include <list>
#include <thread>

#include "absl/time/time.h"
#include "common/mutex.h"

namespace mvirt::zfs {

class StallWatchdog {
 private:
  struct Entry {
    grpc::ServerContextBase* context;
    absl::Time write_started = absl::InfiniteFuture();  // not writing
    bool cancelled = false;
  };

 public:
  // Checks once a second; cancels calls whose Write has taken > `limit`.
  explicit StallWatchdog(absl::Duration limit);
  ~StallWatchdog();  // stops the checking thread
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;

  // Watches one call for its lifetime; the watchdog never touches the
  // call's context after the Watch is destroyed.
  class Watch {
   public:
    Watch(StallWatchdog& watchdog, grpc::ServerContextBase* context);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // Bracket each Write with these.
    void WriteStarted();
    void WriteFinished();

   private:
    StallWatchdog& watchdog_;
    std::list<Entry>::iterator entry_;
  };

 private:
  void Loop();

  const absl::Duration limit_;
  Mutex mu_;
  CondVar stop_cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::list<Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_SERVICE_STALL_WATCHDOG_H_
