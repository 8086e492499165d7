// Must not compile: Open takes a state store for another key type (its
// states would stay unbound).
#include "engine/job_builder.h"

struct Ev {
  int64_t ts;
  int64_t user;
};
absl::StatusOr<Ev> Parse(absl::string_view) { return Ev{0, 0}; }

struct WrongOpen {
  using Out = int;
  void Open(eddy::KeyedStateStore<std::string>&) {}
  void ProcessElement(const Ev&, eddy::ProcessContext<int64_t, int>&) {}
};

void Build() {
  eddy::JobBuilder job("j");
  job.Source<Ev>("events", Parse)
      .WithEventTime(&Ev::ts, absl::Seconds(1))
      .KeyBy(&Ev::user)
      .Process("p", WrongOpen{});
}
