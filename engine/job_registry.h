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

class GeneratorRegistry {
 public:
  static GeneratorRegistry& Global();
  bool Register(GeneratorInfo info);
  const GeneratorInfo* Find(const std::string& name) const;
  std::vector<const GeneratorInfo*> List() const;
  const std::vector<std::string>& duplicates() const { return duplicates_; }

 private:
  std::map<std::string, GeneratorInfo> generators_;
  std::vector<std::string> duplicates_;
};

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
