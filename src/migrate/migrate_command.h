// `mvirt-zfs migrate-from-rust --db FILE --pool NAME [--apply] [--max-steps N]`:
// moves a pool laid out by the Rust mvirt-zfs into this daemon's layout
// (migrate/rust_migration.h). Without --apply it prints the plan and the
// disagreements it found and changes nothing; with --apply it performs the
// steps in order, saying each, and stops at the first failure (run it
// again: the plan is made anew from where the pool is). The Rust daemon must
// be stopped first; this daemon's lock on the pool is taken, so it cannot run
// meanwhile. Its SQLite file is only read.
#ifndef MVIRT_ZFS_MIGRATE_MIGRATE_COMMAND_H_
#define MVIRT_ZFS_MIGRATE_MIGRATE_COMMAND_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace mvirt::zfs {

// `args` are the words after "mvirt-zfs" ("migrate-from-rust", ...). Exit
// code: 0 plan shown, or every step applied; 1 a failure (the database or
// pool unreadable, the lock held, a step failed); 2 usage.
int RunMigrateCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_MIGRATE_MIGRATE_COMMAND_H_
