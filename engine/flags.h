// Command-line flags for the `eddy` subcommands.
//
// Each subcommand declares the flags it accepts; anything else is an error
// naming the flag. Accepted forms: --name value, --name=value, and --name
// alone for boolean flags. Arguments not starting with "--" are positional.
//
// Example:
//   const std::vector<FlagDef> defs = {{"threads", FlagDef::kValue, "worker threads"}};
//   EDDY_ASSIGN_OR_RETURN(ParsedArgs args, ParseArgs(argv_rest, defs, "eddy replay"));
//   EDDY_ASSIGN_OR_RETURN(int64_t threads, args.GetInt("threads", 1));
#ifndef EDDY_ENGINE_FLAGS_H_
#define EDDY_ENGINE_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace eddy {

struct FlagDef {
  enum Kind { kValue, kRepeated, kBool };
  std::string name;  // without the leading "--"
  Kind kind = kValue;
  std::string help;
};

class ParsedArgs {
 public:
  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  bool GetBool(const std::string& name) const { return Has(name); }
  // Errors: "--name: 'x' is not an integer" (or outside [min, max]).
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback,
                                 int64_t min = INT64_MIN, int64_t max = INT64_MAX) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double fallback) const;
  // A repeated KEY=VALUE flag as a map. Errors: "--name: 'x' is not KEY=VALUE".
  absl::StatusOr<std::map<std::string, std::string>> GetKeyValues(const std::string& name) const;

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>&,
                                              const std::vector<FlagDef>&, absl::string_view);
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> values_;
};

// Errors (InvalidArgument): unknown flag, missing value, a non-repeated flag
// given twice. `command` names the subcommand in messages.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagDef>& defs, absl::string_view command);

// "  --name VALUE   help" lines for usage text.
std::string FlagHelp(const std::vector<FlagDef>& defs);

}  // namespace eddy

#endif  // EDDY_ENGINE_FLAGS_H_
