// gMock matchers for the grpc::Status a call returned:
//   EXPECT_THAT(status, GrpcStatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("'v'")));
//   EXPECT_THAT(status, GrpcIsOk());
#ifndef MVIRT_ZFS_TESTS_ZFS_GRPC_STATUS_MATCHERS_H_
#define MVIRT_ZFS_TESTS_ZFS_GRPC_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>

#include <string>

namespace mvirt::zfs::testing {

// Matches a grpc::Status whose code is `code` and whose message matches
// `message` (any message if omitted).
MATCHER_P2(GrpcStatusIs, code, message,
           "has code " + ::testing::PrintToString(static_cast<int>(code)) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message)) {
  *result_listener << "whose code is " << static_cast<int>(arg.error_code()) << " (message \""
                   << arg.error_message() << "\")";
  return arg.error_code() == code &&
         ::testing::ExplainMatchResult(message, arg.error_message(), result_listener);
}

MATCHER_P(GrpcStatusIs, code, "has code " + ::testing::PrintToString(static_cast<int>(code))) {
  *result_listener << "whose code is " << static_cast<int>(arg.error_code()) << " (message \""
                   << arg.error_message() << "\")";
  return arg.error_code() == code;
}

MATCHER(GrpcIsOk, "is OK") {
  *result_listener << "whose code is " << static_cast<int>(arg.error_code()) << " (message \""
                   << arg.error_message() << "\")";
  return arg.ok();
}

}  // namespace mvirt::zfs::testing

#endif  // MVIRT_ZFS_TESTS_ZFS_GRPC_STATUS_MATCHERS_H_
