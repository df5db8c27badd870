#include "access/access_policy.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mvirt::zfs {

absl::Status AuthorizeLocalPeer(const LocalPeer& peer, const AccessPolicy& policy,
                                const GroupLookup& groups_of) {
  if (peer.uid == 0) return absl::OkStatus();
  if (policy.group.has_value()) {
    if (peer.gid == policy.group) return absl::OkStatus();
    std::vector<gid_t> groups = groups_of(peer.uid);
    if (std::find(groups.begin(), groups.end(), *policy.group) != groups.end()) {
      return absl::OkStatus();
    }
    return absl::PermissionDeniedError(absl::StrCat(
        DescribePeer(peer), " may not call mvirt-zfs: only root and members of group '",
        policy.group_name, "' may"));
  }
  return absl::PermissionDeniedError(absl::StrCat(
      DescribePeer(peer),
      " may not call mvirt-zfs: only root may (start it with --socket-group to admit a group)"));
}

std::vector<gid_t> SystemGroupsOf(uid_t uid) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return {};
  }
  int count = 64;
  std::vector<gid_t> groups(count);
  while (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count) + 16);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<size_t>(count));
  return groups;
}

std::string DescribePeer(const LocalPeer& peer) {
  std::string out = absl::StrCat("uid ", peer.uid);
  if (peer.pid > 0) absl::StrAppend(&out, " (pid ", peer.pid, ")");
  return out;
}

}  // namespace mvirt::zfs
