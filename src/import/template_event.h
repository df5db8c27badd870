// What a template change event carries: ImportManager::template_events()
// publishes the changes of templates (VolumeManager reports them through
// its template observer) and of the imports building them, in one order.
#ifndef MVIRT_ZFS_IMPORT_TEMPLATE_EVENT_H_
#define MVIRT_ZFS_IMPORT_TEMPLATE_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "import/import_job.h"
#include "volume/volume_types.h"

namespace mvirt::zfs {

// A change of a template or of an import building one: the template's full
// current state and/or the job's; neither if the template was deleted.
struct TemplateEventInfo {
  std::string template_id;
  int64_t timestamp = 0;
  std::optional<TemplateInfo> template_info;
  std::optional<ImportJobInfo> import_job;
  // A replication job of the template moved on (`template_info` is its
  // state then).
  std::optional<ReplicationJobInfo> replication_job;
};

}  // namespace mvirt::zfs

#endif  // MVIRT_ZFS_IMPORT_TEMPLATE_EVENT_H_
