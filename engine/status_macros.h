// Status propagation macros.
//
// Abseil 20220623 (Debian 12) ships absl::Status and absl::StatusOr but not the
// RETURN_IF_ERROR / ASSIGN_OR_RETURN macros; these are Eddy's versions.
//
// Example:
//   absl::StatusOr<Config> Load(absl::string_view path) {
//     EDDY_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     EDDY_RETURN_IF_ERROR(Validate(text));
//     return Config{text};
//   }
#ifndef EDDY_ENGINE_STATUS_MACROS_H_
#define EDDY_ENGINE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EDDY_STATUS_CONCAT_INNER_(a, b) a##b
#define EDDY_STATUS_CONCAT_(a, b) EDDY_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// if it is not OK.
#define EDDY_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::absl::Status eddy_status_ = (expr);          \
    if (!eddy_status_.ok()) return eddy_status_;   \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration).
#define EDDY_ASSIGN_OR_RETURN(lhs, rexpr) \
  EDDY_ASSIGN_OR_RETURN_IMPL_(EDDY_STATUS_CONCAT_(eddy_statusor_, __LINE__), lhs, rexpr)

#define EDDY_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

namespace eddy {

// The explicit, searchable way to drop a status on purpose. Say why at the
// call site.
inline void IgnoreError(const absl::Status&) {}

}  // namespace eddy

#endif  // EDDY_ENGINE_STATUS_MACROS_H_
