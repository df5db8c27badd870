#include "migrate/migrate_command.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/instance_lock.h"
#include "device/zvol_device.h"
#include "device/zvol_devices.h"
#include "migrate/rust_metadata.h"
#include "migrate/rust_migration.h"
#include "zfs/zfs.h"

namespace mvirt::zfs {
namespace {

struct MigrateOptions {
  std::string db = "/var/lib/mvirt/zfs/metadata.db";
  std::string pool;
  bool apply = false;
  size_t max_steps = 0;  // 0: all
};

void PrintPlan(const MigrationPlan& plan, bool apply, std::ostream& out) {
  out << plan.steps.size() << (plan.steps.size() == 1 ? " step" : " steps")
      << (apply ? "" : " (dry run: nothing changed; --apply performs them)") << ":\n";
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    out << "  " << i + 1 << ". " << plan.steps[i].Describe() << "\n";
  }
  out << plan.already_migrated << " volumes, snapshots and templates are in place already\n";
  if (plan.findings.empty()) {
    out << "the metadata and the pool agree\n";
    return;
  }
  out << plan.findings.size() << " disagreements, each left as it is:\n";
  for (const std::string& finding : plan.findings) out << "  - " << finding << "\n";
}

int Run(const MigrateOptions& options, std::ostream& out, std::ostream& err) {
  const std::string me = "mvirt-zfs migrate-from-rust: ";
  absl::StatusOr<RustMetadata> rows = ReadRustMetadata(options.db);
  if (!rows.ok()) {
    err << me << rows.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<InstanceLock> lock = InstanceLock::Acquire(
      InstanceLock::PathFor("pool-" + options.pool), absl::StrCat("pool '", options.pool, "'"));
  if (!lock.ok()) {
    err << me << lock.status().message() << "\n";  // it says to stop the daemon first
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Zfs>> zfs = OpenLibZfs();
  if (!zfs.ok()) {
    err << me << zfs.status().message() << "\n";
    return 1;
  }
  DeviceUser device_user = [](const std::string& path) {
    std::vector<DeviceHolder> holders = LinuxZvolDevices::Get().Holders(path);
    return holders.empty() ? std::string() : DescribeHolders(holders);
  };
  absl::StatusOr<MigrationPlan> plan = PlanRustMigration(**zfs, options.pool, *rows, device_user);
  if (!plan.ok()) {
    err << me << plan.status().message() << "\n";
    return 1;
  }
  out << "pool '" << options.pool << "' from the Rust mvirt-zfs's " << options.db << ": "
      << rows->volumes.size() << " volume, " << rows->snapshots.size() << " snapshot and "
      << rows->templates.size() << " template rows\n";
  PrintPlan(*plan, options.apply, out);
  if (!options.apply) return 0;
  size_t done = 0;
  for (const MigrationStep& step : plan->steps) {
    if (options.max_steps > 0 && done == options.max_steps) {
      out << "stopped after " << done << " steps (--max-steps); run again for the rest\n";
      return 0;
    }
    if (absl::Status s = ApplyMigrationStep(**zfs, options.pool, step); !s.ok()) {
      err << me << "step " << done + 1 << " (" << step.Describe() << ") failed: " << s.message()
          << "; nothing after it was done, run again to go on from here\n";
      return 1;
    }
    ++done;
    out << "done: " << step.Describe() << "\n";
  }
  out << "migrated: " << done << " steps applied\n";
  return 0;
}

}  // namespace

int RunMigrateCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  MigrateOptions options;
  CLI::App app{
      "Move a pool laid out by the Rust mvirt-zfs (volumes/<id>, templates/<id>@img, names in "
      "its SQLite file) into this daemon's layout: renames and user properties only, nothing "
      "destroyed. Prints the plan unless --apply.",
      "mvirt-zfs migrate-from-rust"};
  app.footer(
      "Volumes keep their ids (mvirt's control plane sees the same volumes), snapshots their\n"
      "names and ids, templates their names and clones. Disagreements between the file and\n"
      "the pool are reported and left alone. Stop the Rust daemon first. Exit 0 plan shown or\n"
      "applied, 1 failed (run again: it goes on from where the pool is), 2 usage.");
  app.add_option("--db", options.db, "The Rust daemon's SQLite metadata (read only)")
      ->capture_default_str();
  app.add_option("--pool", options.pool, "The pool, e.g. vmpool")->required();
  app.add_flag("--apply", options.apply, "Perform the steps (default: only show them)");
  app.add_option("--max-steps", options.max_steps,
                 "With --apply, stop after N steps (the rest on the next run); 0: all")
      ->capture_default_str();
  std::vector<std::string> words(args.rbegin(), args.rend());
  if (!words.empty()) words.pop_back();  // "migrate-from-rust" names the app itself
  try {
    app.parse(words);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }
  return Run(options, out, err);
}

}  // namespace mvirt::zfs
