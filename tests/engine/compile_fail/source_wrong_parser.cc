// Must not compile: the parser returns a different type than Source<T>.
#include "engine/job_builder.h"

struct Ev {
  int64_t ts;
};
absl::StatusOr<int> Parse(absl::string_view) { return 1; }

void Build() {
  eddy::JobBuilder job("j");
  job.Source<Ev>("events", Parse);
}
