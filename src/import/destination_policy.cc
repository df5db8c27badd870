#include "import/destination_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mvirt::zfs {

absl::Status CheckDestination(const DestinationPolicy& policy, absl::string_view url_host,
                              const IpAddress& address) {
  const AddressClass kind = ClassifyAddress(address);
  if (kind == AddressClass::kPublic) return absl::OkStatus();
  for (const std::string& host : policy.allowed_hosts) {
    if (absl::EqualsIgnoreCase(host, url_host)) return absl::OkStatus();
  }
  for (const IpNetwork& net : policy.allowed_networks) {
    if (net.Contains(address)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("host '", url_host, "' leads to a ", AddressClassName(kind),
                   " address, which imports may not reach unless mvirt-zfs is started with "
                   "--import-allow-host ",
                   url_host, " or an --import-allow-net that contains it"));
}

}  // namespace mvirt::zfs
