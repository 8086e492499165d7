// Build() accepts well-formed graphs and explains what is wrong with others.
#include "engine/job_builder.h"

#include <string>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

struct Ev {
  int64_t ts = 0;
  std::string user;
};

absl::StatusOr<Ev> ParseEv(absl::string_view line) {
  Ev e;
  if (!absl::SimpleAtoi(line, &e.ts)) return absl::InvalidArgumentError("bad");
  return e;
}

void Encode(const Ev& e, std::string& out) { out += std::to_string(e.ts); }

std::string ErrorOf(JobBuilder& job) {
  absl::StatusOr<JobGraph> g = std::move(job).Build();
  EXPECT_FALSE(g.ok());
  return g.ok() ? "" : std::string(g.status().message());
}

TEST(JobBuilderTest, BuildsAValidGraphInTopologicalOrder) {
  JobBuilder job("ok");
  Stream<Ev> s = job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1));
  s.Filter("f", [](const Ev& e) { return e.ts > 0; })
      .Map("m", [](const Ev& e) { return e.ts; })
      .Sink("out", [](int64_t v, std::string& out) { out += std::to_string(v); });
  absl::StatusOr<JobGraph> g = std::move(job).Build();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->name(), "ok");
  EXPECT_EQ(g->sources().size(), 1u);
  EXPECT_EQ(g->sinks().size(), 1u);
  EXPECT_EQ(g->Describe(), "source events\nfilter f <- events\nmap m <- f\nsink out <- m\n");
}

TEST(JobBuilderTest, MissingSinkIsAnError) {
  JobBuilder job("j");
  job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1));
  const std::string err = ErrorOf(job);
  EXPECT_NE(err.find("no sink"), std::string::npos) << err;
}

TEST(JobBuilderTest, UnconnectedStreamIsAnError) {
  JobBuilder job("j");
  Stream<Ev> s = job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1));
  s.Sink("out", Encode);
  s.Map("dangling", [](const Ev& e) { return e.ts; });
  const std::string err = ErrorOf(job);
  EXPECT_NE(err.find("map 'dangling' is not connected"), std::string::npos) << err;
}

TEST(JobBuilderTest, DuplicateNamesAreAnError) {
  JobBuilder job("j");
  Stream<Ev> s = job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1));
  s.Filter("x", [](const Ev&) { return true; }).Sink("out", Encode);
  s.Filter("x", [](const Ev&) { return false; }).Sink("out2", Encode);
  const std::string err = ErrorOf(job);
  EXPECT_NE(err.find("duplicate operator name 'x'"), std::string::npos) << err;
}

TEST(JobBuilderTest, SourceWithoutEventTimeIsAnError) {
  JobBuilder job("j");
  job.Source<Ev>("events", ParseEv);
  const std::string err = ErrorOf(job);
  EXPECT_NE(err.find("source 'events' has no event time"), std::string::npos) << err;
}

TEST(JobBuilderTest, ReservedSinkNameAndBadJobNameAreErrors) {
  JobBuilder job("bad name!");
  job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1)).Sink("dead_letters", Encode);
  const std::string err = ErrorOf(job);
  EXPECT_NE(err.find("job name 'bad name!'"), std::string::npos) << err;
  EXPECT_NE(err.find("sink name 'dead_letters' is reserved"), std::string::npos) << err;
}

TEST(JobBuilderTest, NegativeDurationsAreAnError) {
  JobBuilder job("j");
  EventTimeOptions et;
  et.allowed_lateness = absl::Seconds(-1);
  job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, et).Sink("out", Encode);
  EXPECT_NE(ErrorOf(job).find("must be between zero and 1000 years"), std::string::npos);

  JobBuilder infinite("j");
  EventTimeOptions inf;
  inf.allowed_lateness = absl::InfiniteDuration();
  infinite.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, inf).Sink("out", Encode);
  EXPECT_NE(ErrorOf(infinite).find("between zero and 1000 years"), std::string::npos);
}

TEST(JobBuilderTest, UnionAcrossJobsIsAnError) {
  JobBuilder a("a");
  JobBuilder b("b");
  Stream<Ev> sa = a.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1));
  Stream<Ev> sb = b.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1));
  sa.Union(sb).Sink("out", Encode);
  sb.Sink("out", Encode);
  EXPECT_NE(ErrorOf(a).find("different jobs"), std::string::npos);
  EXPECT_TRUE(std::move(b).Build().ok());
}

TEST(JobBuilderTest, AutomaticNamesAreUnique) {
  JobBuilder job("j");
  Stream<Ev> s = job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1));
  s.Filter([](const Ev&) { return true; }).Filter([](const Ev&) { return true; }).Sink("out", Encode);
  absl::StatusOr<JobGraph> g = std::move(job).Build();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->nodes()[1]->name(), "filter_1");
  EXPECT_EQ(g->nodes()[2]->name(), "filter_2");
}

TEST(JobBuilderTest, BuildingTwiceIsAnErrorNotACrash) {
  JobBuilder job("j");
  job.Source<Ev>("events", ParseEv).WithEventTime(&Ev::ts, absl::Seconds(1)).Sink("out", Encode);
  EXPECT_TRUE(std::move(job).Build().ok());
  absl::StatusOr<JobGraph> again = std::move(job).Build();
  EXPECT_FALSE(again.ok());
}

}  // namespace
}  // namespace eddy
