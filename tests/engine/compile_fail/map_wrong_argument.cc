// Must not compile: the Map function takes a type the stream doesn't carry.
#include "engine/job_builder.h"

struct Ev {
  int64_t ts;
};
absl::StatusOr<Ev> Parse(absl::string_view) { return Ev{0}; }

void Build() {
  eddy::JobBuilder job("j");
  job.Source<Ev>("events", Parse)
      .WithEventTime(&Ev::ts, absl::Seconds(1))
      .Map([](const std::string& s) { return s.size(); });
}
