// The settings of image imports, with their defaults (daemon flags fill them).
#ifndef MVIRT_ZFS_IMPORT_IMPORT_OPTIONS_H_
#define MVIRT_ZFS_IMPORT_IMPORT_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/net_address.h"
#include "common/sizes.h"

namespace mvirt::zfs {

struct ImportOptions {
  // Job records live in <state_dir>/jobs, temporary downloads in
  // <state_dir>/tmp (both created on start).
  std::string state_dir = "/var/lib/mvirt-zfs";
  // Local sources are accepted only inside these directories, as written
  // (no symlink is followed below them); anything else is
  // PERMISSION_DENIED.
  std::vector<std::string> import_dirs = {"/var/lib/mvirt-zfs/images"};
  // Plain http:// sources; https:// is always allowed.
  bool allow_http = false;
  // Downloads never connect to loopback, link-local (cloud metadata),
  // private, multicast or reserved addresses, also after redirects, except
  // for URLs whose host is one of `allow_hosts` (exactly, ignoring case) and
  // for addresses inside `allow_networks`.
  std::vector<std::string> allow_hosts;
  std::vector<IpNetwork> allow_networks;
  // A PEM bundle of CAs to trust for https:// instead of the system's.
  std::string ca_file;
  // The largest image accepted: download size and virtual (disk) size.
  uint64_t max_image_bytes = kTiB;
  // Imports that run at once; further ones wait as PENDING.
  int max_concurrent = 2;
  // The qemu-img binary (a name is looked up in PATH).
  std::string qemu_img = "qemu-img";
  // HTTP: time to connect; a transfer slower than 1 KiB/s for
  // `stall_timeout` is aborted; at most `max_redirects` redirects.
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration stall_timeout = absl::Seconds(60);
  int max_redirects = 5;
  // Finished job records kept (the newest); older ones are forgotten.
  size_t max_finished_jobs = 200;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_IMPORT_OPTIONS_H_
