// ExitCodeFor: which exit code mvirt-zfsctl gives a failed call (README,
// "mvirt-zfsctl").
#include <gtest/gtest.h>

#include "cli/command.h"

namespace mvirt::zfs::cli {
namespace {

TEST(ExitCodeFor, EveryGrpcCodeHasItsDocumentedExitCode) {
  using C = grpc::StatusCode;
  const std::vector<std::pair<C, int>> table = {
      {C::OK, 0},
      {C::CANCELLED, 1},
      {C::UNKNOWN, 1},
      {C::INVALID_ARGUMENT, 1},
      {C::DEADLINE_EXCEEDED, 5},
      {C::NOT_FOUND, 3},
      {C::ALREADY_EXISTS, 4},
      {C::PERMISSION_DENIED, 4},
      {C::RESOURCE_EXHAUSTED, 4},
      {C::FAILED_PRECONDITION, 4},
      {C::ABORTED, 4},
      {C::OUT_OF_RANGE, 1},
      {C::UNIMPLEMENTED, 1},
      {C::INTERNAL, 1},
      {C::UNAVAILABLE, 5},
      {C::DATA_LOSS, 1},
      {C::UNAUTHENTICATED, 4},
  };
  for (const auto& [code, exit_code] : table) {
    EXPECT_EQ(ExitCodeFor(code), exit_code) << "gRPC code " << static_cast<int>(code);
  }
  EXPECT_EQ(kExitUsage, 2);
}

}  // namespace
}  // namespace mvirt::zfs::cli
