// gMock matchers and assertions for absl::Status and absl::StatusOr:
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("'v'")));
//   ASSERT_OK(zfs.CreateVolume(...));
#ifndef MVIRT_ZFS_TESTS_UNIT_STATUS_MATCHERS_H_
#define MVIRT_ZFS_TESTS_UNIT_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mvirt::zfs::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Matches a Status or StatusOr whose code is `code` and whose message
// matches `message` (any message if omitted).
MATCHER_P2(StatusIs, code, message,
           ::testing::PrintToString(code) + " with a message that " +
               ::testing::DescribeMatcher<std::string>(message)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message, std::string(status.message()), result_listener);
}

MATCHER_P(StatusIs, code, ::testing::PrintToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code;
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "whose status is " << status;
  return status.ok();
}

// Matches an OK StatusOr whose value matches `value`.
MATCHER_P(IsOkAndHolds, value, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value, *arg, result_listener);
}

}  // namespace mvirt::zfs::testing

#define ASSERT_OK(expr) ASSERT_THAT(expr, ::mvirt::zfs::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT(expr, ::mvirt::zfs::testing::IsOk())

#endif  // MVIRT_ZFS_TESTS_UNIT_STATUS_MATCHERS_H_
