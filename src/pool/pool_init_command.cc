#include "pool/pool_init_command.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sizes.h"
#include "pool/device_facts.h"
#include "pool/pool_standards.h"
#include "zfs/pool_creation.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {
namespace {

struct InitOptions {
  std::string pool;
  std::vector<std::string> devices;
  bool yes = false;
  bool force = false;
};

std::string KindName(DeviceFacts::Kind kind) {
  return kind == DeviceFacts::Kind::kFile ? "file" : "block device";
}

std::string SettingsLine() {
  std::vector<std::string> pool, root;
  for (const auto& [key, value] : SeedSettings().pool_props) pool.push_back(key + "=" + value);
  for (const auto& [key, value] : SeedSettings().root_props) root.push_back(key + "=" + value);
  return absl::StrCat(absl::StrJoin(pool, " "), "; root dataset ", absl::StrJoin(root, " "));
}

int RunInit(const InitOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::unique_ptr<PoolCreator>> zfs = PoolCreator::Open();
  if (!zfs.ok()) {
    err << "mvirt-zfs pool init: " << zfs.status().message() << "\n";
    return 1;
  }
  if (absl::Status valid = (*zfs)->ValidatePoolName(options.pool); !valid.ok()) {
    err << "mvirt-zfs pool init: " << valid.message() << "\n";
    return 1;
  }
  if ((*zfs)->PoolExists(options.pool)) {
    err << "mvirt-zfs pool init: pool '" << options.pool << "' already exists; nothing done\n";
    return 1;
  }

  std::vector<DeviceFacts> devices;
  std::set<std::string> seen;
  bool refused = false;
  for (const std::string& path : options.devices) {
    DeviceFacts device = InspectDevice(path, **zfs);
    std::vector<std::string> reasons = ReasonsToRefuse(device, options.force);
    if (!seen.insert(device.path).second) reasons.push_back("is named twice");
    for (const std::string& reason : reasons) {
      err << "mvirt-zfs pool init: " << device.path << " " << reason << "\n";
      refused = true;
    }
    devices.push_back(std::move(device));
  }
  if (refused) {
    err << "mvirt-zfs pool init: nothing done\n";
    return 1;
  }

  out << "mvirt-zfs pool init will create pool '" << options.pool << "', striped over "
      << devices.size() << (devices.size() == 1 ? " device" : " devices") << ":\n";
  for (const DeviceFacts& device : devices) {
    out << "  " << device.path << "  " << KindName(device.kind) << ", "
        << FormatSize(device.size_bytes);
    if (!device.signatures.empty()) {
      out << ", overwriting: " << absl::StrJoin(device.signatures, ", ");
    }
    out << "\n";
  }
  out << "with the seed's settings: " << SettingsLine() << ".\n"
      << "Everything on these devices is lost.\n";
  if (!options.yes) {
    out << "Create it? Type yes to go on: " << std::flush;
    std::string answer;
    std::getline(in, answer);
    answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
    if (answer != "yes" && answer != "y") {
      err << "mvirt-zfs pool init: not confirmed; nothing done\n";
      return 1;
    }
  }

  NewPoolSpec spec;
  spec.name = options.pool;
  for (const DeviceFacts& device : devices) spec.vdevs.push_back(device.path);
  spec.pool_props = SeedSettings().pool_props;
  spec.root_props = SeedSettings().root_props;
  if (absl::Status created = (*zfs)->Create(spec); !created.ok()) {
    err << "mvirt-zfs pool init: " << created.message() << "\n";
    return 1;
  }

  // Read back what ZFS made of it, the way the daemon will see it.
  absl::StatusOr<std::unique_ptr<Zfs>> reader = OpenLibZfs();
  absl::StatusOr<PoolProps> pool =
      reader.ok() ? (*reader)->GetPool(options.pool) : absl::StatusOr<PoolProps>(reader.status());
  if (!pool.ok()) {
    err << "mvirt-zfs pool init: created pool '" << options.pool
        << "' but cannot read it back: " << pool.status().message() << "\n";
    return 1;
  }
  std::vector<StandardsFinding> findings = CheckPoolStandards(*pool);
  for (const StandardsFinding& finding : findings) {
    err << "mvirt-zfs pool init: " << DescribeFinding(options.pool, finding) << "\n";
  }
  out << "created pool '" << options.pool << "' (" << pool->health << ")"
      << (findings.empty() ? "; it follows the seed's standards" : "") << "\n";
  return findings.empty() ? 0 : 1;
}

}  // namespace

int RunPoolCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  InitOptions options;
  CLI::App app{"mvirt-zfs pool: set up the storage pool (the daemon is not involved)",
               "mvirt-zfs pool"};
  app.require_subcommand(1);
  CLI::App* init = app.add_subcommand(
      "init", "Create a pool with the seed's settings over DEVICE... (asks for \"yes\")");
  init->footer(
      "The pool gets ashift=12 and autotrim=on, its root dataset compression=lz4, xattr=sa\n"
      "and atime=off; it is striped over the devices or files, used as given (no partition\n"
      "table is written). The plan is shown and \"yes\" read from stdin unless --yes.\n"
      "Refused: devices that are missing, mounted, swap, held by dm/md/LVM, in an imported\n"
      "pool or under 64 MiB; unless --force, devices carrying a filesystem, a partition\n"
      "table or another pool's label. Exit 0 once created and checked, 1 refused or failed,\n"
      "2 usage.");
  init->add_option("--pool", options.pool, "Name of the new pool, e.g. vmpool")->required();
  init->add_option("devices", options.devices, "Block devices or files of at least 64 MiB")
      ->required();
  init->add_flag("--yes", options.yes, "Do not ask; create it");
  init->add_flag("--force", options.force,
                 "Write over filesystems, partition tables and other pools' labels (never over "
                 "a device in use)");
  std::vector<std::string> words(args.rbegin(), args.rend());
  if (!words.empty()) words.pop_back();  // "pool" names the app itself
  try {
    app.parse(words);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }
  return RunInit(options, in, out, err);
}

}  // namespace mvirt::zfs
