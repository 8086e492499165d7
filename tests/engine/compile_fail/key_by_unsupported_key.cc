// Must not compile: a key type without stable hashing.
#include <vector>

#include "engine/job_builder.h"

struct Ev {
  int64_t ts;
  std::vector<int> tags;
};
absl::StatusOr<Ev> Parse(absl::string_view) { return Ev{0, {}}; }

void Build() {
  eddy::JobBuilder job("j");
  job.Source<Ev>("events", Parse).WithEventTime(&Ev::ts, absl::Seconds(1)).KeyBy(&Ev::tags);
}
