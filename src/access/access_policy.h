// Who may call the daemon: the decision for a peer the kernel identified.
// Pure logic (the group lookup is injected), unit-tested.
#ifndef MVIRT_ZFS_ACCESS_ACCESS_POLICY_H_
#define MVIRT_ZFS_ACCESS_ACCESS_POLICY_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace mvirt::zfs {

// A local peer as the kernel reports it (SO_PEERCRED for a unix socket, the
// owner of the client's socket for loopback TCP); never what a client says.
struct LocalPeer {
  uid_t uid = 0;
  std::optional<gid_t> gid;  // primary group, when known (unix sockets)
  pid_t pid = 0;             // 0 when unknown
};

struct AccessPolicy {
  // Besides root, members of this group may call (--socket-group).
  std::optional<gid_t> group;
  std::string group_name;
};

// The supplementary groups of user `uid` (as getgrouplist reports them).
using GroupLookup = std::function<std::vector<gid_t>(uid_t)>;

// OK if `peer` may call: uid 0, or `policy.group` is its primary group or
// one of its groups. PERMISSION_DENIED naming the uid and how access is
// granted otherwise.
absl::Status AuthorizeLocalPeer(const LocalPeer& peer, const AccessPolicy& policy,
                                const GroupLookup& groups_of);

// The groups of `uid` from the system's user database (getpwuid_r +
// getgrouplist); empty if the user is unknown.
std::vector<gid_t> SystemGroupsOf(uid_t uid);

// "uid 1000 (pid 4242)"
std::string DescribePeer(const LocalPeer& peer);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_ACCESS_ACCESS_POLICY_H_
