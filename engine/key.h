// Keys of keyed streams: stable hashing and key groups.
//
// A keyed stream's records are spread over kKeyGroups key groups by a hash that
// is stable across processes and runs (xxHash3 over the key's bytes), so that
// state written by one run can be found by the next, and so that a record's
// key group never depends on the number of threads.
//
// Supported key types: integral types, std::string, and std::pair / std::tuple
// of supported types. Other types specialise eddy::KeyTraits<K>:
//
// Example:
//   struct UserAd { std::string user; int32_t ad; bool operator<(...) const; ...};
//   template <> struct eddy::KeyTraits<UserAd> {
//     static constexpr bool kSupported = true;
//     static uint64_t Hash(const UserAd& k) {
//       return eddy::HashCombine(eddy::KeyTraits<std::string>::Hash(k.user), k.ad);
//     }
//   };
// Keys also need operator< (timers fire in key order within a timestamp) and
// must be hashable by absl::Hash (in-memory state tables).
#ifndef EDDY_ENGINE_KEY_H_
#define EDDY_ENGINE_KEY_H_

#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <xxhash.h>

namespace eddy {

// Number of key groups: the unit in which keyed state is partitioned over
// tasks (Flink's "max parallelism"). Fixed: changing it re-shuffles all state.
inline constexpr uint32_t kKeyGroups = 256;

inline uint64_t HashCombine(uint64_t seed, uint64_t value) {
  // Mixing step from xxHash's avalanche (public constants).
  uint64_t h = seed ^ (value + 0x9E3779B97F4A7C15ULL + (seed << 6) + (seed >> 2));
  h ^= h >> 33;
  h *= 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 29;
  return h;
}

template <typename K, typename Enable = void>
struct KeyTraits {
  static constexpr bool kSupported = false;
};

template <typename K>
struct KeyTraits<K, std::enable_if_t<std::is_integral_v<K>>> {
  static constexpr bool kSupported = true;
  static uint64_t Hash(K k) {
    const int64_t v = static_cast<int64_t>(k);
    return XXH3_64bits(&v, sizeof(v));
  }
};

template <>
struct KeyTraits<std::string> {
  static constexpr bool kSupported = true;
  static uint64_t Hash(const std::string& k) {
    return XXH3_64bits(k.data(), k.size());
  }
};

template <typename A, typename B>
struct KeyTraits<std::pair<A, B>,
                 std::enable_if_t<KeyTraits<A>::kSupported && KeyTraits<B>::kSupported>> {
  static constexpr bool kSupported = true;
  static uint64_t Hash(const std::pair<A, B>& k) {
    return HashCombine(KeyTraits<A>::Hash(k.first), KeyTraits<B>::Hash(k.second));
  }
};

template <typename... Ts>
struct KeyTraits<std::tuple<Ts...>,
                 std::enable_if_t<(KeyTraits<Ts>::kSupported && ...)>> {
  static constexpr bool kSupported = true;
  static uint64_t Hash(const std::tuple<Ts...>& k) {
    uint64_t h = 0;
    std::apply([&h](const auto&... part) {
      ((h = HashCombine(h, KeyTraits<std::decay_t<decltype(part)>>::Hash(part))), ...);
    }, k);
    return h;
  }
};

template <typename K>
inline constexpr bool kIsSupportedKey = KeyTraits<K>::kSupported;

template <typename K>
uint32_t KeyGroupOf(const K& key) {
  return static_cast<uint32_t>(KeyTraits<K>::Hash(key) % kKeyGroups);
}

// The task (partition) that owns a key group when there are `partitions`
// tasks: contiguous ranges of key groups, as in Flink.
inline int PartitionOfKeyGroup(uint32_t key_group, int partitions) {
  return static_cast<int>((static_cast<uint64_t>(key_group) * partitions) / kKeyGroups);
}

}  // namespace eddy

#endif  // EDDY_ENGINE_KEY_H_
