#include "audit/audit_event.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_util.h"

namespace mvirt::zfs {

std::string DescribeAuditEvent(const AuditEvent& event) {
  std::string result = StatusCodeName(event.code);
  if (event.code != 0 && !event.message.empty()) absl::StrAppend(&result, " (", event.message, ")");
  return absl::StrCat(event.method, " ", event.object, " by ", event.caller, " from ", event.peer,
                      " -> ", result,
                      absl::StrFormat(" in %.3fs", absl::ToDoubleSeconds(event.duration)));
}

}  // namespace mvirt::zfs
