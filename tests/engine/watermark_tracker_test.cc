#include "engine/watermark_tracker.h"

#include <utility>
#include <vector>

#include "engine/record.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

TEST(WatermarkTrackerTest, StartsAtMinEventTime) {
  WatermarkTracker wm;
  wm.AddPartition(/*bound_ms=*/0, /*idle_timeout_ms=*/0);
  EXPECT_EQ(wm.current(), kMinEventTime);
  EXPECT_EQ(wm.Advance(/*now=*/0), kMinEventTime);
}

TEST(WatermarkTrackerTest, AddPartitionReturnsConsecutiveIndices) {
  WatermarkTracker wm;
  EXPECT_EQ(wm.AddPartition(0, 0), 0);
  EXPECT_EQ(wm.AddPartition(10, 100), 1);
  EXPECT_EQ(wm.AddPartition(20, 0), 2);
  EXPECT_EQ(wm.partitions(), 3);
}

TEST(WatermarkTrackerTest, WatermarkIsMaxTsMinusBoundMinusOne) {
  WatermarkTracker wm;
  const int p = wm.AddPartition(/*bound_ms=*/5000, /*idle_timeout_ms=*/60000);
  wm.Observe(p, /*max_ts=*/1000, /*now=*/1000);
  EXPECT_EQ(wm.Advance(1000), 1000 - 5000 - 1);
  EXPECT_EQ(wm.current(), 1000 - 5000 - 1);

  wm.Observe(p, 20000, 1001);
  EXPECT_EQ(wm.Advance(1001), 20000 - 5000 - 1);
}

TEST(WatermarkTrackerTest, ZeroBoundGivesMaxTsMinusOne) {
  WatermarkTracker wm;
  const int p = wm.AddPartition(0, 0);
  wm.Observe(p, 7, 0);
  EXPECT_EQ(wm.Advance(0), 6);
}

TEST(WatermarkTrackerTest, UsesLargestObservedTimestampNotLatest) {
  WatermarkTracker wm;
  const int p = wm.AddPartition(100, 0);
  wm.Observe(p, 5000, 0);
  wm.Observe(p, 3000, 1);  // an out-of-order batch
  EXPECT_EQ(wm.Advance(1), 5000 - 100 - 1);
}

TEST(WatermarkTrackerTest, JobWatermarkIsMinimumOverPartitions) {
  WatermarkTracker wm;
  const int a = wm.AddPartition(/*bound_ms=*/0, 0);
  const int b = wm.AddPartition(/*bound_ms=*/1000, 0);
  wm.Observe(a, 5000, 0);
  wm.Observe(b, 5500, 0);
  // a: 4999, b: 5500 - 1000 - 1 = 4499.
  EXPECT_EQ(wm.Advance(0), 4499);

  wm.Observe(b, 9000, 1);
  // a: 4999, b: 7999.
  EXPECT_EQ(wm.Advance(1), 4999);
}

TEST(WatermarkTrackerTest, PartitionWithoutRecordsHoldsWatermarkAtMin) {
  WatermarkTracker wm;
  const int a = wm.AddPartition(0, 0);
  wm.AddPartition(0, 0);
  wm.Observe(a, 5000, 0);
  EXPECT_EQ(wm.Advance(0), kMinEventTime);
}

TEST(WatermarkTrackerTest, NeverMovesBackwards) {
  WatermarkTracker wm;
  const int a = wm.AddPartition(0, 0);
  wm.Observe(a, 10000, 0);
  EXPECT_EQ(wm.Advance(0), 9999);

  // A partition added later that is far behind would give a lower minimum.
  const int b = wm.AddPartition(0, 0);
  wm.Observe(b, 100, 1);
  EXPECT_EQ(wm.Advance(1), 9999);
  EXPECT_EQ(wm.current(), 9999);

  // Once b overtakes, the watermark moves forward again.
  wm.Observe(a, 30000, 2);
  wm.Observe(b, 20000, 2);
  EXPECT_EQ(wm.Advance(2), 19999);
}

TEST(WatermarkTrackerTest, IdlePartitionStopsHoldingBackAfterTimeout) {
  WatermarkTracker wm;
  const int slow = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  const int fast = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  wm.Observe(slow, 1000, /*now=*/0);
  wm.Observe(fast, 5000, /*now=*/0);
  EXPECT_EQ(wm.Advance(0), 999);

  // Still within the timeout: slow holds the watermark back.
  wm.Observe(fast, 6000, /*now=*/99);
  EXPECT_FALSE(wm.IsIdle(slow, 99));
  EXPECT_EQ(wm.Advance(99), 999);

  // 100 ms of silence: slow is idle and no longer counts.
  wm.Observe(fast, 7000, /*now=*/100);
  EXPECT_TRUE(wm.IsIdle(slow, 100));
  EXPECT_FALSE(wm.IsIdle(fast, 100));
  EXPECT_EQ(wm.Advance(100), 6999);
}

TEST(WatermarkTrackerTest, IdlePartitionHoldsBackAgainWhenItProduces) {
  WatermarkTracker wm;
  const int slow = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  const int fast = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  wm.Observe(slow, 1000, 0);
  wm.Observe(fast, 5000, 0);
  EXPECT_EQ(wm.Advance(0), 999);

  wm.Observe(fast, 6000, 150);
  EXPECT_EQ(wm.Advance(150), 5999);  // slow is idle

  // slow wakes up behind the watermark: the watermark does not go back.
  wm.Observe(slow, 2000, 200);
  EXPECT_FALSE(wm.IsIdle(slow, 200));
  EXPECT_EQ(wm.Advance(200), 5999);

  // slow counts again: it now holds the watermark below fast's.
  wm.Observe(slow, 7000, 210);
  wm.Observe(fast, 8000, 210);
  EXPECT_EQ(wm.Advance(210), 6999);
}

TEST(WatermarkTrackerTest, ZeroIdleTimeoutMeansNeverIdle) {
  WatermarkTracker wm;
  const int slow = wm.AddPartition(0, /*idle_timeout_ms=*/0);
  const int fast = wm.AddPartition(0, /*idle_timeout_ms=*/0);
  wm.Observe(slow, 1000, 0);
  wm.Observe(fast, 5000, 0);
  wm.Observe(fast, 9000, 1'000'000'000);
  EXPECT_FALSE(wm.IsIdle(slow, 1'000'000'000));
  EXPECT_EQ(wm.Advance(1'000'000'000), 999);
}

TEST(WatermarkTrackerTest, NegativeIdleTimeoutMeansNeverIdle) {
  WatermarkTracker wm;
  const int slow = wm.AddPartition(0, /*idle_timeout_ms=*/-1);
  const int fast = wm.AddPartition(0, /*idle_timeout_ms=*/-1);
  wm.Observe(slow, 1000, 0);
  wm.Observe(fast, 9000, 1'000'000);
  EXPECT_FALSE(wm.IsIdle(slow, 1'000'000));
  EXPECT_EQ(wm.Advance(1'000'000), 999);
}

TEST(WatermarkTrackerTest, SilentPartitionCountsIdleFromFirstClockReading) {
  WatermarkTracker wm;
  const int active = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  const int silent = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  wm.Observe(active, 1000, /*now=*/500);
  EXPECT_EQ(wm.Advance(500), kMinEventTime);  // silent holds back at first

  wm.Observe(active, 2000, /*now=*/599);
  EXPECT_FALSE(wm.IsIdle(silent, 599));
  EXPECT_EQ(wm.Advance(599), kMinEventTime);

  wm.Observe(active, 3000, /*now=*/600);
  EXPECT_TRUE(wm.IsIdle(silent, 600));
  EXPECT_EQ(wm.Advance(600), 2999);
}

TEST(WatermarkTrackerTest, FinishedPartitionDoesNotHoldBack) {
  WatermarkTracker wm;
  const int done = wm.AddPartition(0, 0);
  const int live = wm.AddPartition(0, 0);
  wm.Observe(done, 100, 0);
  wm.Observe(live, 5000, 0);
  EXPECT_EQ(wm.Advance(0), 99);

  wm.MarkFinished(done);
  EXPECT_EQ(wm.Advance(1), 4999);
  EXPECT_FALSE(wm.IsIdle(done, 1'000'000));  // finished is not idle
}

TEST(WatermarkTrackerTest, FinishedPartitionWithoutRecordsDoesNotHoldBack) {
  WatermarkTracker wm;
  const int empty = wm.AddPartition(0, 0);
  const int live = wm.AddPartition(0, 0);
  wm.MarkFinished(empty);
  wm.Observe(live, 5000, 0);
  EXPECT_EQ(wm.Advance(0), 4999);
}

TEST(WatermarkTrackerTest, AllFinishedJumpsToMaxEventTime) {
  WatermarkTracker wm;
  const int a = wm.AddPartition(0, 0);
  const int b = wm.AddPartition(1000, 0);
  wm.Observe(a, 100, 0);
  wm.Observe(b, 200, 0);
  wm.MarkFinished(a);
  EXPECT_NE(wm.Advance(0), kMaxEventTime);
  wm.MarkFinished(b);
  EXPECT_EQ(wm.Advance(0), kMaxEventTime);
  EXPECT_EQ(wm.current(), kMaxEventTime);
}

TEST(WatermarkTrackerTest, AllUnfinishedPartitionsIdleHoldsWatermark) {
  WatermarkTracker wm;
  const int a = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  const int b = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  const int done = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  wm.Observe(a, 1000, 0);
  wm.Observe(b, 2000, 0);
  wm.Observe(done, 3000, 0);
  wm.MarkFinished(done);
  EXPECT_EQ(wm.Advance(0), 999);

  // Everyone unfinished is idle: neither jump to the end nor go back.
  EXPECT_TRUE(wm.IsIdle(a, 10'000));
  EXPECT_TRUE(wm.IsIdle(b, 10'000));
  EXPECT_EQ(wm.Advance(10'000), 999);
  EXPECT_EQ(wm.Advance(20'000), 999);
  EXPECT_EQ(wm.current(), 999);

  // b produces again: the watermark follows it while a stays idle.
  wm.Observe(b, 4000, 20'001);
  EXPECT_EQ(wm.Advance(20'001), 3999);
}

TEST(WatermarkTrackerTest, PartitionsReadElsewhereDoNotHoldTheWatermarkBack) {
  WatermarkTracker wm;
  const int mine = wm.AddPartition(0, /*idle_timeout_ms=*/0);
  const int theirs = wm.AddPartition(0, /*idle_timeout_ms=*/0);
  wm.Observe(mine, 5000, 0);
  EXPECT_EQ(wm.Advance(0), kMinEventTime);  // theirs never produced: held

  // Another consumer of the group owns it: only mine counts.
  wm.SetAssigned(theirs, false, 10);
  EXPECT_EQ(wm.Advance(10), 4999);
  // Unassigned is not finished: the watermark does not jump to the end.
  wm.MarkFinished(mine);
  EXPECT_EQ(wm.Advance(20), 4999);

  // Assigned back, it holds the watermark again (which never goes back).
  WatermarkTracker wm2;
  const int a = wm2.AddPartition(0, 0);
  const int b = wm2.AddPartition(0, 0);
  wm2.SetAssigned(b, false, 0);
  wm2.Observe(a, 9000, 0);
  EXPECT_EQ(wm2.Advance(0), 8999);
  wm2.SetAssigned(b, true, 1);
  wm2.Observe(b, 3000, 1);
  wm2.Observe(a, 12000, 1);
  EXPECT_EQ(wm2.Advance(1), 8999);
  wm2.Observe(b, 11000, 2);
  EXPECT_EQ(wm2.Advance(2), 10999);
}

TEST(WatermarkTrackerTest, AReassignedPartitionStartsItsIdleTimeAfresh) {
  WatermarkTracker wm;
  const int a = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  const int b = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  wm.Observe(a, 1000, 0);
  wm.Observe(b, 500, 0);
  wm.SetAssigned(b, false, 0);
  wm.SetAssigned(b, true, 10'000);
  EXPECT_FALSE(wm.IsIdle(b, 10'050));
  EXPECT_EQ(wm.Advance(10'050), 499);
}

TEST(WatermarkTrackerTest, AssignedWatermarksReportOwnPartitionsAndIdleOnesAtTheJobWatermark) {
  // What a process reports to the others in a run across processes.
  WatermarkTracker wm;
  const int busy = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  const int quiet = wm.AddPartition(0, /*idle_timeout_ms=*/100);
  const int elsewhere = wm.AddPartition(0, 100);
  wm.SetAssigned(elsewhere, false, 0);
  wm.Observe(busy, 1000, 0);
  wm.Observe(quiet, 500, 0);
  std::vector<std::pair<uint32_t, EventTime>> out;
  wm.Advance(0);
  wm.AssignedWatermarks(0, out);
  EXPECT_EQ(out, (std::vector<std::pair<uint32_t, EventTime>>{{0, 999}, {1, 499}}));

  // Quiet goes idle: it reports the job's watermark, and its records behind
  // what it reported are late from then on.
  wm.Observe(busy, 3000, 200);
  EXPECT_EQ(wm.Advance(200), 2999);
  wm.AssignedWatermarks(200, out);
  EXPECT_EQ(out, (std::vector<std::pair<uint32_t, EventTime>>{{0, 2999}, {1, 2999}}));
  EXPECT_EQ(wm.WatermarkOf(quiet), 2999);

  // Taken over by another process and given back: the promises were the
  // other owner's; only its own progress counts again.
  wm.SetAssigned(quiet, false, 300);
  wm.SetAssigned(quiet, true, 400);
  EXPECT_EQ(wm.WatermarkOf(quiet), 499);
}

TEST(WatermarkTrackerTest, AHandedOverWatermarkIsAFloorThatSurvivesACheckpoint) {
  // A partition taken over positioned past its last records (the previous
  // owner read them): its watermark starts where that owner left it, even
  // though this process never sees those records, and a stale local view
  // (an older checkpoint of this process) does not pull it back.
  WatermarkTracker wm;
  const int p = wm.AddPartition(/*bound_ms=*/5000, /*idle_timeout_ms=*/0);
  const int q = wm.AddPartition(/*bound_ms=*/0, /*idle_timeout_ms=*/0);
  wm.Observe(p, 10'000, 0);  // the stale local view: watermark 4999
  wm.Observe(q, 1'000'000, 0);
  wm.RaiseWatermark(p, 50'000);
  EXPECT_EQ(wm.WatermarkOf(p), 50'000);
  EXPECT_EQ(wm.Advance(0), 50'000);
  wm.RaiseWatermark(p, 20'000);  // a lower floor changes nothing
  wm.RaiseWatermark(p, kMinEventTime);
  wm.Observe(p, 40'000, 1);      // nor do records behind it
  EXPECT_EQ(wm.WatermarkOf(p), 50'000);
  wm.Observe(p, 60'000, 2);      // records beyond it move it on
  EXPECT_EQ(wm.WatermarkOf(p), 60'000 - 5000 - 1);

  WatermarkTracker restored;
  restored.AddPartition(5000, 0);
  restored.AddPartition(0, 0);
  wm.RaiseWatermark(p, 70'000);
  ASSERT_TRUE(restored.Restore(wm.Save()));
  EXPECT_EQ(restored.WatermarkOf(p), 70'000);

  // Saturates instead of overflowing.
  wm.RaiseWatermark(p, kMaxEventTime - 10);
  EXPECT_EQ(wm.WatermarkOf(p), kMaxEventTime - 5000 - 1);
}

}  // namespace
}  // namespace eddy
