// Must not compile: the encoder doesn't take (const T&, std::string&).
#include "engine/job_builder.h"

struct Ev {
  int64_t ts;
};
absl::StatusOr<Ev> Parse(absl::string_view) { return Ev{0}; }

void Build() {
  eddy::JobBuilder job("j");
  job.Source<Ev>("events", Parse)
      .WithEventTime(&Ev::ts, absl::Seconds(1))
      .Sink("out", [](const Ev&) { return std::string(); });
}
