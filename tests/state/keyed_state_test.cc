#include "state/keyed_state.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace eddy {
namespace {

TEST(KeyedStateTest, ValueIsScopedToCurrentKey) {
  KeyedStateStore<std::string> store;
  ValueState<std::string, int64_t> count = store.Value<int64_t>("count");
  const std::string a = "alice";
  const std::string b = "bob";

  store.SetCurrentKey(&a);
  EXPECT_EQ(count.Get(), nullptr);
  count.Set(5);
  ASSERT_NE(count.Get(), nullptr);
  EXPECT_EQ(*count.Get(), 5);

  store.SetCurrentKey(&b);
  EXPECT_EQ(count.Get(), nullptr);
  count.Set(9);

  store.SetCurrentKey(&a);
  ASSERT_NE(count.Get(), nullptr);
  EXPECT_EQ(*count.Get(), 5);
  store.SetCurrentKey(&b);
  ASSERT_NE(count.Get(), nullptr);
  EXPECT_EQ(*count.Get(), 9);
  EXPECT_EQ(count.size(), 2u);
}

TEST(KeyedStateTest, KeyIsComparedByValueNotByPointer) {
  KeyedStateStore<std::string> store;
  auto count = store.Value<int64_t>("count");
  const std::string first = "user1";
  store.SetCurrentKey(&first);
  count.Set(3);

  const std::string same_key_elsewhere = "user1";
  store.SetCurrentKey(&same_key_elsewhere);
  ASSERT_NE(count.Get(), nullptr);
  EXPECT_EQ(*count.Get(), 3);
}

TEST(KeyedStateTest, SetOverwrites) {
  KeyedStateStore<int64_t> store;
  auto v = store.Value<std::string>("v");
  const int64_t key = 1;
  store.SetCurrentKey(&key);
  v.Set("first");
  v.Set("second");
  ASSERT_NE(v.Get(), nullptr);
  EXPECT_EQ(*v.Get(), "second");
  EXPECT_EQ(v.size(), 1u);
}

TEST(KeyedStateTest, GetOrCreateDefaultConstructsAndPersists) {
  KeyedStateStore<std::string> store;
  auto count = store.Value<int64_t>("count");
  auto list = store.Value<std::vector<int>>("list");
  const std::string k = "k";
  store.SetCurrentKey(&k);

  EXPECT_EQ(count.GetOrCreate(), 0);
  EXPECT_TRUE(list.GetOrCreate().empty());
  ASSERT_NE(count.Get(), nullptr);  // creating it stored it

  ++count.GetOrCreate();
  ++count.GetOrCreate();
  list.GetOrCreate().push_back(7);
  EXPECT_EQ(*count.Get(), 2);
  ASSERT_NE(list.Get(), nullptr);
  EXPECT_EQ(*list.Get(), std::vector<int>{7});
}

TEST(KeyedStateTest, GetOrCreateReturnsExistingValue) {
  KeyedStateStore<std::string> store;
  auto count = store.Value<int64_t>("count");
  const std::string k = "k";
  store.SetCurrentKey(&k);
  count.Set(41);
  EXPECT_EQ(++count.GetOrCreate(), 42);
  EXPECT_EQ(*count.Get(), 42);
}

TEST(KeyedStateTest, WritesThroughMutablePointerAreStored) {
  KeyedStateStore<std::string> store;
  auto count = store.Value<int64_t>("count");
  const std::string k = "k";
  store.SetCurrentKey(&k);
  EXPECT_EQ(count.Mutable(), nullptr);
  count.Set(1);
  *count.Mutable() = 10;
  EXPECT_EQ(*count.Get(), 10);
}

TEST(KeyedStateTest, ClearRemovesOnlyCurrentKey) {
  KeyedStateStore<std::string> store;
  auto count = store.Value<int64_t>("count");
  const std::string a = "a";
  const std::string b = "b";
  store.SetCurrentKey(&a);
  count.Set(1);
  store.SetCurrentKey(&b);
  count.Set(2);

  store.SetCurrentKey(&a);
  count.Clear();
  EXPECT_EQ(count.Get(), nullptr);
  EXPECT_EQ(count.size(), 1u);

  store.SetCurrentKey(&b);
  ASSERT_NE(count.Get(), nullptr);
  EXPECT_EQ(*count.Get(), 2);
}

TEST(KeyedStateTest, ClearOfAbsentKeyIsHarmless) {
  KeyedStateStore<std::string> store;
  auto count = store.Value<int64_t>("count");
  const std::string a = "a";
  const std::string b = "b";
  store.SetCurrentKey(&a);
  count.Set(1);
  store.SetCurrentKey(&b);
  count.Clear();
  EXPECT_EQ(count.size(), 1u);
  store.SetCurrentKey(&a);
  ASSERT_NE(count.Get(), nullptr);
  EXPECT_EQ(*count.Get(), 1);
}

TEST(KeyedStateTest, ClearOnlyAffectsItsOwnState) {
  KeyedStateStore<std::string> store;
  auto count = store.Value<int64_t>("count");
  auto last = store.Value<std::string>("last");
  const std::string a = "a";
  store.SetCurrentKey(&a);
  count.Set(1);
  last.Set("x");
  count.Clear();
  EXPECT_EQ(count.Get(), nullptr);
  ASSERT_NE(last.Get(), nullptr);
  EXPECT_EQ(*last.Get(), "x");
}

TEST(KeyedStateTest, StatesWithDifferentNamesAreIndependent) {
  KeyedStateStore<std::string> store;
  auto clicks = store.Value<int64_t>("clicks");
  auto views = store.Value<int64_t>("views");
  const std::string k = "k";
  store.SetCurrentKey(&k);
  clicks.Set(1);
  EXPECT_EQ(views.Get(), nullptr);
  views.Set(100);
  EXPECT_EQ(*clicks.Get(), 1);
  EXPECT_EQ(*views.Get(), 100);
}

TEST(KeyedStateTest, SameNameReturnsSameTable) {
  KeyedStateStore<std::string> store;
  auto first = store.Value<int64_t>("count");
  store.Value<std::string>("other");
  auto second = store.Value<int64_t>("count");
  const std::string k = "k";
  store.SetCurrentKey(&k);
  first.Set(5);
  ASSERT_NE(second.Get(), nullptr);
  EXPECT_EQ(*second.Get(), 5);
  second.Clear();
  EXPECT_EQ(first.Get(), nullptr);
  EXPECT_EQ(store.TotalEntries(), 0u);
}

TEST(KeyedStateTest, TotalEntriesCountsAllKeysOfAllStates) {
  KeyedStateStore<std::string> store;
  EXPECT_EQ(store.TotalEntries(), 0u);
  auto count = store.Value<int64_t>("count");
  auto last = store.Value<std::string>("last");
  EXPECT_EQ(store.TotalEntries(), 0u);

  const std::string a = "a";
  const std::string b = "b";
  const std::string c = "c";
  store.SetCurrentKey(&a);
  count.Set(1);
  last.Set("x");
  store.SetCurrentKey(&b);
  count.Set(2);
  store.SetCurrentKey(&c);
  count.GetOrCreate();
  EXPECT_EQ(store.TotalEntries(), 4u);

  count.Get();  // reading does not create
  last.Get();
  EXPECT_EQ(store.TotalEntries(), 4u);

  store.SetCurrentKey(&a);
  count.Clear();
  EXPECT_EQ(store.TotalEntries(), 3u);
}

TEST(KeyedStateTest, WorksWithCompositeKeys) {
  using Key = std::pair<std::string, int32_t>;
  KeyedStateStore<Key> store;
  auto sum = store.Value<double>("sum");
  const Key k1{"u", 1};
  const Key k2{"u", 2};
  store.SetCurrentKey(&k1);
  sum.GetOrCreate() += 1.5;
  store.SetCurrentKey(&k2);
  EXPECT_EQ(sum.Get(), nullptr);
  sum.GetOrCreate() += 2.0;
  store.SetCurrentKey(&k1);
  EXPECT_EQ(*sum.Get(), 1.5);
}

TEST(KeyedStateTest, CurrentKeyIsWhatWasSet) {
  KeyedStateStore<std::string> store;
  EXPECT_EQ(store.current_key(), nullptr);
  const std::string k = "k";
  store.SetCurrentKey(&k);
  EXPECT_EQ(store.current_key(), &k);
}

}  // namespace
}  // namespace eddy
