// AuditEvent: one finished mutation, as the audit line and mvirt-log see it.
#ifndef MVIRT_ZFS_AUDIT_AUDIT_EVENT_H_
#define MVIRT_ZFS_AUDIT_AUDIT_EVENT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace mvirt::zfs {

struct AuditEvent {
  absl::Time start;                     // when the call began
  absl::Duration duration;              // how long it ran
  std::string method;                   // "CreateVolume"
  std::string object;                   // "volume 'vm-1'"
  std::vector<std::string> object_ids;  // the ids the reply named, if any
  std::string caller;                   // "uid 0 (pid 42) on unix socket"
  std::string peer;                     // "fd:7", "ipv4:10.0.0.5:4444"
  int code = 0;                         // gRPC status code
  std::string message;                  // the failure's message (cut), empty on success
};

// "CreateVolume volume 'vm-1' by uid 0 (pid 42) on unix socket from fd:7
// -> OK in 0.412s", a failure with " (message)" after its code.
std::string DescribeAuditEvent(const AuditEvent& event);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_AUDIT_AUDIT_EVENT_H_
