#include "engine/flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace eddy {

std::string ParsedArgs::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<int64_t> ParsedArgs::GetInt(const std::string& name, int64_t fallback, int64_t min,
                                           int64_t max) const {
  if (!Has(name)) return fallback;
  const std::string text = Get(name);
  int64_t v;
  if (!absl::SimpleAtoi(text, &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", text, "' is not an integer"));
  }
  if (v < min || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": ", v, " is outside [", min, ", ", max, "]"));
  }
  return v;
}

absl::StatusOr<double> ParsedArgs::GetDouble(const std::string& name, double fallback) const {
  if (!Has(name)) return fallback;
  const std::string text = Get(name);
  double v;
  if (!absl::SimpleAtod(text, &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", text, "' is not a number"));
  }
  return v;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagDef>& defs, absl::string_view command) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
        return absl::InvalidArgumentError(
            absl::StrCat(command, ": unknown flag ", arg, " (flags are written --name)"));
      }
      out.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const FlagDef* def = nullptr;
    for (const FlagDef& d : defs) {
      if (d.name == name) def = &d;
    }
    if (def == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(command, ": unknown flag --", name));
    }
    if (def->kind == FlagDef::kBool) {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat(command, ": --", name, " takes no value"));
      }
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(command, ": --", name, " needs a value"));
      }
      value = args[++i];
    }
    auto& slot = out.values_[name];
    if (!slot.empty() && def->kind != FlagDef::kRepeated) {
      return absl::InvalidArgumentError(
          absl::StrCat(command, ": --", name, " given more than once"));
    }
    slot.push_back(std::move(value));
  }
  return out;
}

std::string FlagHelp(const std::vector<FlagDef>& defs) {
  std::string out;
  for (const FlagDef& d : defs) {
    std::string left = absl::StrCat("  --", d.name, d.kind == FlagDef::kBool ? "" : " VALUE",
                                    d.kind == FlagDef::kRepeated ? " ..." : "");
    absl::StrAppendFormat(&out, "%-28s %s\n", left, d.help);
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> ParsedArgs::GetKeyValues(
    const std::string& name) const {
  std::map<std::string, std::string> out;
  for (const std::string& kv : GetAll(name)) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", kv, "' is not KEY=VALUE"));
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

}  // namespace eddy
