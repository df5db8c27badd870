// The sandbox qemu-img runs in: qemu-img parses untrusted images, so it sees
// nothing of the host but what it needs to run, the image and the target.
//
// The choice: bubblewrap (/usr/bin/bwrap, Debian package bubblewrap), one
// sandbox per qemu-img run, with
//  - new mount, pid, network, ipc, uts (and, where possible, cgroup)
//    namespaces (no network at all; no user namespace for root, which
//    needs none and may not make one in a chroot), a new session
//    (no terminal injection), all capabilities dropped, killed with its
//    parent (--die-with-parent), an empty environment but PATH;
//  - read-only: /usr, the merged-/usr links or directories of / (/bin,
//    /sbin, /lib, /lib64, ...), /etc/ld.so.cache; a private /proc, a
//    minimal /dev (null, zero, urandom, ...), a tmpfs /tmp; nothing of /etc,
//    /home, /var, /run or /root;
//  - the image read-only at /image, and for convert the target block device
//    at /target (the only device node added).
// A --qemu-img outside /usr is taken for a wrapper (the tests' throttling
// script): its directory is bound read-only at its own path, and each line
// "# mvirt-zfs-sandbox-ro-bind: PATH" in its first 4 KiB names a path it
// also needs, bound read-only (if it exists when qemu-img starts).
// Without bwrap, qcow2 images are refused: qemu-img never runs unsandboxed.
#ifndef MVIRT_ZFS_IMPORT_QEMU_IMG_SANDBOX_H_
#define MVIRT_ZFS_IMPORT_QEMU_IMG_SANDBOX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvirt::zfs {

inline constexpr char kBwrapPath[] = "/usr/bin/bwrap";
// Where the image and the target device appear inside the sandbox.
inline constexpr char kSandboxImage[] = "/image";
inline constexpr char kSandboxTarget[] = "/target";
// The line of a wrapper script that names a path it needs.
inline constexpr absl::string_view kSandboxBindDirective = "# mvirt-zfs-sandbox-ro-bind:";

struct QemuImgSandbox {
  std::string qemu_img;       // absolute path of the program (the same inside)
  std::string image;          // host path, bound read-only at kSandboxImage
  std::string target_device;  // host block device bound at kSandboxTarget; "" for none
  std::vector<std::string> extra_ro_binds;  // bound read-only at the same path
};

// An entry of the host's / that the sandbox recreates: a symlink (merged
// /usr: /lib -> usr/lib) or, if `symlink_target` is empty, a directory
// bound read-only.
struct RootEntry {
  std::string path;
  std::string symlink_target;
};

// Which of /bin, /sbin, /lib, /lib32, /lib64, /libx32 exist on this host,
// and how (absent ones are left out).
std::vector<RootEntry> HostRootEntries();

// The paths that the wrapper script starting with `script_head` names on
// kSandboxBindDirective lines (none unless it starts with "#!").
// FAILED_PRECONDITION for a path that is not absolute and normal, or "/".
absl::StatusOr<std::vector<std::string>> WrapperBinds(absl::string_view script_head);

// Prepares the sandbox for running `qemu_img` (--qemu-img: a name looked up
// in PATH, or a path) on `image` and `target_device` ("" for none): the
// program's canonical path, and for a wrapper outside /usr its directory
// and declared paths. FAILED_PRECONDITION "install bubblewrap" if bwrap is
// missing, "install qemu-utils" if qemu-img is not found, or for a wrapper
// in / itself.
absl::StatusOr<QemuImgSandbox> PrepareQemuImgSandbox(const std::string& qemu_img,
                                                     const std::string& image,
                                                     const std::string& target_device);

// The argv that runs `sandbox.qemu_img` with `args` (which name
// kSandboxImage and kSandboxTarget) inside `sandbox`, on a host whose / has
// `root_entries`. Pure.
std::vector<std::string> QemuImgSandboxArgv(const QemuImgSandbox& sandbox,
                                            const std::vector<RootEntry>& root_entries,
                                            const std::vector<std::string>& args);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_QEMU_IMG_SANDBOX_H_
