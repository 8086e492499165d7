#include "engine/job_registry.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace eddy {

std::string JobConfig::GetString(const std::string& key, const std::string& fallback) const {
  auto it = params_.find(key);
  return it == params_.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> JobConfig::GetInt(const std::string& key, int64_t fallback) const {
  auto it = params_.find(key);
  if (it == params_.end()) return fallback;
  int64_t v;
  if (!absl::SimpleAtoi(it->second, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter ", key, "=", it->second, " is not an integer"));
  }
  return v;
}

absl::StatusOr<double> JobConfig::GetDouble(const std::string& key, double fallback) const {
  auto it = params_.find(key);
  if (it == params_.end()) return fallback;
  double v;
  if (!absl::SimpleAtod(it->second, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter ", key, "=", it->second, " is not a number"));
  }
  return v;
}

JobRegistry& JobRegistry::Global() {
  static JobRegistry* registry = new JobRegistry();
  return *registry;
}

bool JobRegistry::Register(JobInfo info) {
  std::string name = info.name;
  if (!jobs_.emplace(name, std::move(info)).second) duplicates_.push_back(name);
  return true;
}

const JobInfo* JobRegistry::Find(const std::string& name) const {
  auto it = jobs_.find(name);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::vector<const JobInfo*> JobRegistry::List() const {
  std::vector<const JobInfo*> out;
  for (const auto& [name, info] : jobs_) out.push_back(&info);
  return out;
}

}  // namespace eddy
