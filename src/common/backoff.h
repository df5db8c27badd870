// Backoff: the pauses between attempts at something that can fail for a
// transient reason (a zvol briefly open while udev probes it, a snapshot
// taken in the same transaction group).
//
//   absl::Status last;
//   for (Backoff backoff; backoff.Next();) {
//     ... attempt; return unless transient; last = why ...
//   }
//   return last;  // every attempt was refused for a transient reason
//
// Next() is true for each attempt and sleeps before every one but the first:
// 20 ms, doubling up to 400 ms apart; the defaults make 12 attempts, about
// 3 s in all. Not thread-safe: one loop's object.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace mvirt {

class Backoff {
 public:
  explicit Backoff(int attempts = 12,
                   std::chrono::milliseconds first_pause = std::chrono::milliseconds(20),
                   std::chrono::milliseconds longest_pause = std::chrono::milliseconds(400))
      : attempts_left_(attempts), pause_(first_pause), longest_pause_(longest_pause) {}

  // True if another attempt is due (after its pause); false once all are made.
  bool Next() {
    if (attempts_left_ <= 0) return false;
    if (started_) {
      std::this_thread::sleep_for(pause_);
      pause_ = std::min(pause_ * 2, longest_pause_);
    }
    started_ = true;
    --attempts_left_;
    return true;
  }

 private:
  int attempts_left_;
  std::chrono::milliseconds pause_;
  const std::chrono::milliseconds longest_pause_;
  bool started_ = false;
};

}  // namespace mvirt
