// Which addresses an https:// import may connect to. A root daemon must not
// be made to fetch from this host's own services or networks for a caller
// (server-side request forgery): loopback, link-local (where cloud metadata
// services answer), private, multicast and reserved addresses are refused
// unless the operator allowed the URL's host or the address's network.
// Checked on every connection libcurl opens, so also after redirects and on
// whatever the name resolves to at that moment. Pure logic, unit-tested.
#ifndef MVIRT_ZFS_IMPORT_DESTINATION_POLICY_H_
#define MVIRT_ZFS_IMPORT_DESTINATION_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/net_address.h"

namespace mvirt::zfs {

struct DestinationPolicy {
  std::vector<std::string> allowed_hosts;  // URL host names, any case
  std::vector<IpNetwork> allowed_networks;
};

// OK if a download of a URL with host `url_host` may connect to `address`:
// a public address, a host in allowed_hosts, or an address in
// allowed_networks. PERMISSION_DENIED otherwise, naming the host and the kind
// of address (not the address: what a name resolves to inside is not the
// caller's business).
absl::Status CheckDestination(const DestinationPolicy& policy, absl::string_view url_host,
                              const IpAddress& address);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_DESTINATION_POLICY_H_
