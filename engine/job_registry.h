// The registry of jobs (and event generators) the `eddy` command can run.
//
// A job is a C++ function that builds a JobGraph from a JobConfig, registered
// by name with one line at namespace scope in any linked source file:
//
// Example:
//   absl::StatusOr<eddy::JobGraph> BuildListenCounts(const eddy::JobConfig& config);
//   EDDY_REGISTER_JOB("listen_counts", "Listens per user and genre per hour",
//                     BuildListenCounts);
//
// Registration happens during static initialisation; the registry is
// read-only afterwards. Registering a name twice keeps the first; `eddy jobs`
// warns about the clash.
#ifndef EDDY_ENGINE_JOB_REGISTRY_H_
#define EDDY_ENGINE_JOB_REGISTRY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/flags.h"
#include "engine/job_graph.h"

namespace eddy {

// Parameters passed to a job's builder (`eddy replay JOB --param key=value`).
class JobConfig {
 public:
  JobConfig() = default;
  explicit JobConfig(std::map<std::string, std::string> params) : params_(std::move(params)) {}

  bool Has(const std::string& key) const { return params_.count(key) > 0; }
  std::string GetString(const std::string& key, const std::string& fallback) const;
  // Errors name the parameter and the bad value.
  absl::StatusOr<int64_t> GetInt(const std::string& key, int64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& key, double fallback) const;
  const std::map<std::string, std::string>& params() const { return params_; }

 private:
  std::map<std::string, std::string> params_;
};

using JobFactory = absl::StatusOr<JobGraph> (*)(const JobConfig&);

struct JobInfo {
  std::string name;
  std::string description;  // one line
  JobFactory factory = nullptr;
  // The job's own flags (`eddy replay learn --format vw`): each given value
  // reaches the factory as the parameter of the flag's name (bool flags as
  // "true"), as if passed with --param NAME=VALUE.
  std::vector<FlagDef> flags;
};

class JobRegistry {
 public:
  static JobRegistry& Global();

  // Returns true; the return value exists so registration can be a static
  // initialiser.
  bool Register(JobInfo info);
  // nullptr if unknown.
  const JobInfo* Find(const std::string& name) const;
  // Sorted by name.
  std::vector<const JobInfo*> List() const;
  // Names registered more than once.
  const std::vector<std::string>& duplicates() const { return duplicates_; }

 private:
  std::map<std::string, JobInfo> jobs_;
  std::vector<std::string> duplicates_;
};

// An event generator for `eddy gen NAME --out FILE [flags]`.
struct GeneratorInfo {
  std::string name;
  std::string description;  // one line
  std::vector<FlagDef> flags;  // every flag it accepts, --out included
  absl::Status (*run)(const ParsedArgs& args) = nullptr;
};

// Named things registered at static-initialisation time (generators,
// commands, reports), by `Info::name`.
template <typename Info>
class NamedRegistry {
 public:
  static NamedRegistry& Global() {
    static NamedRegistry* registry = new NamedRegistry();
    return *registry;
  }
  bool Register(Info info) {
    std::string name = info.name;
    if (!items_.emplace(name, std::move(info)).second) duplicates_.push_back(name);
    return true;
  }
  const Info* Find(const std::string& name) const {
    auto it = items_.find(name);
    return it == items_.end() ? nullptr : &it->second;
  }
  std::vector<const Info*> List() const {
    std::vector<const Info*> out;
    for (const auto& [name, info] : items_) out.push_back(&info);
    return out;
  }
  const std::vector<std::string>& duplicates() const { return duplicates_; }

 private:
  std::map<std::string, Info> items_;
  std::vector<std::string> duplicates_;
};

using GeneratorRegistry = NamedRegistry<GeneratorInfo>;

// A command of the `eddy` tool defined outside the engine (`eddy demo`).
struct CommandInfo {
  std::string name;
  std::string description;  // one line
  std::vector<FlagDef> flags;
  absl::Status (*run)(const ParsedArgs& args) = nullptr;
};
using CommandRegistry = NamedRegistry<CommandInfo>;

// A job's report (`eddy replay JOB --report`): writes DIR/report.html from
// the run's outputs in DIR.
struct ReportInfo {
  std::string name;  // the job's
  absl::Status (*write)(const std::string& dir) = nullptr;
};
using ReportRegistry = NamedRegistry<ReportInfo>;

#define EDDY_REGISTER_COMMAND(...)                                                \
  static const bool EDDY_REGISTRY_CONCAT_(eddy_command_registered_, __LINE__) = \
      ::eddy::CommandRegistry::Global().Register(__VA_ARGS__)

#define EDDY_REGISTER_REPORT(job, write)                                          \
  static const bool EDDY_REGISTRY_CONCAT_(eddy_report_registered_, __LINE__) =  \
      ::eddy::ReportRegistry::Global().Register(::eddy::ReportInfo{job, write})

#define EDDY_REGISTER_GENERATOR(...)                                                \
  static const bool EDDY_REGISTRY_CONCAT_(eddy_generator_registered_, __LINE__) = \
      ::eddy::GeneratorRegistry::Global().Register(__VA_ARGS__)

#define EDDY_REGISTER_JOB(name, description, factory)                        \
  static const bool EDDY_REGISTRY_CONCAT_(eddy_job_registered_, __LINE__) = \
      ::eddy::JobRegistry::Global().Register(::eddy::JobInfo{name, description, factory, {}})

// A job with flags of its own (JobInfo::flags), e.g.
//   EDDY_REGISTER_JOB_WITH_FLAGS("learn", "...", BuildLearn,
//                                {{"format", FlagDef::kValue, "vw, criteo or csv"}});
#define EDDY_REGISTER_JOB_WITH_FLAGS(name, description, factory, ...)                 \
  static const bool EDDY_REGISTRY_CONCAT_(eddy_job_registered_, __LINE__) =           \
      ::eddy::JobRegistry::Global().Register(                                          \
          ::eddy::JobInfo{name, description, factory, std::vector<::eddy::FlagDef>(__VA_ARGS__)})

#define EDDY_REGISTRY_CONCAT_INNER_(a, b) a##b
#define EDDY_REGISTRY_CONCAT_(a, b) EDDY_REGISTRY_CONCAT_INNER_(a, b)

}  // namespace eddy

#endif  // EDDY_ENGINE_JOB_REGISTRY_H_
