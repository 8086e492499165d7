// Must not compile: OnTimer exists but has the wrong signature (it would
// otherwise be silently ignored and timers would do nothing).
#include "engine/job_builder.h"

struct Ev {
  int64_t ts;
  int64_t user;
};
absl::StatusOr<Ev> Parse(absl::string_view) { return Ev{0, 0}; }

struct WrongTimer {
  using Out = int;
  void ProcessElement(const Ev&, eddy::ProcessContext<int64_t, int>&) {}
  void OnTimer(int64_t, eddy::ProcessContext<std::string, int>&) {}
};

void Build() {
  eddy::JobBuilder job("j");
  job.Source<Ev>("events", Parse)
      .WithEventTime(&Ev::ts, absl::Seconds(1))
      .KeyBy(&Ev::user)
      .Process("p", WrongTimer{});
}
