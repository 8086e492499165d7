// Codecs: how state values and keys become bytes.
//
// Codec<T> appends T to a string and reads it back from the front of a view.
// Provided for arithmetic types (fixed-width little-endian), bool,
// std::string, std::vector, std::map, std::pair, std::tuple and std::optional
// of encodable types. Encodings are prefix-free (a decoder knows where a value
// ends), so encoded keys can be concatenated and scanned by prefix. A user
// struct gets a codec with one line naming all its fields, in order:
//
// Example:
//   struct Window { int64_t start; std::map<std::string, int64_t> counts; };
//   EDDY_CODEC(Window, start, counts);   // at namespace scope, after the struct
//
// Decoding never trusts its input: a truncated or corrupt value returns false
// (never reads out of bounds, never allocates more than the input could hold).
//
// HeapBytes(v) estimates the heap memory a value owns beyond sizeof(T)
// (vector and string capacities, map nodes): what the keyed-state caches
// count against their memory budget. The codecs here and EDDY_CODEC's
// provide it; a hand-written Codec should (static size_t HeapBytes(const
// T&)): without it a state value counts as its encoded size, and a field
// of a struct or an item of a container counts as nothing.
#ifndef EDDY_STATE_CODEC_H_
#define EDDY_STATE_CODEC_H_

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace eddy {

template <typename T, typename Enable = void>
struct Codec {
  static constexpr bool kDefined = false;
};

template <typename T>
inline constexpr bool kHasCodec = Codec<T>::kDefined;

// Appends `v` to `out`.
template <typename T>
void EncodeTo(const T& v, std::string& out) {
  static_assert(kHasCodec<T>,
                "no eddy::Codec for this type: use EDDY_CODEC(Type, fields...) or specialise "
                "eddy::Codec<T> (state/codec.h)");
  Codec<T>::Encode(v, out);
}

// Reads a T from the front of `in` and advances `in` past it.
template <typename T>
bool DecodeFrom(absl::string_view& in, T& v) {
  static_assert(kHasCodec<T>, "no eddy::Codec for this type (state/codec.h)");
  return Codec<T>::Decode(in, v);
}

namespace codec_internal {
// Elements a sequence holds without allocating (absl::InlinedVector's N).
// (Not V().capacity(): GCC 12 warns that a fresh InlinedVector's allocated
// fields "may be used uninitialized" there.)
template <typename V>
struct InlineCapacity : std::integral_constant<size_t, 0> {};
template <typename T, size_t N, typename A>
struct InlineCapacity<absl::InlinedVector<T, N, A>> : std::integral_constant<size_t, N> {};

template <typename T, typename = void>
struct HasHeapBytes : std::false_type {};
template <typename T>
struct HasHeapBytes<T, std::void_t<decltype(Codec<T>::HeapBytes(std::declval<const T&>()))>>
    : std::true_type {};
}  // namespace codec_internal

// Whether HeapBytes(v) is the codec's estimate (false: it returns 0).
template <typename T>
inline constexpr bool kHasHeapBytes = codec_internal::HasHeapBytes<T>::value;

template <typename T>
size_t HeapBytes(const T& v) {
  if constexpr (kHasHeapBytes<T>) {
    return Codec<T>::HeapBytes(v);
  } else {
    return 0;
  }
}

template <typename T>
std::string Encode(const T& v) {
  std::string out;
  EncodeTo(v, out);
  return out;
}

// Decodes a whole value: fails if bytes are left over.
template <typename T>
bool DecodeAll(absl::string_view in, T& v) {
  return DecodeFrom(in, v) && in.empty();
}

namespace codec_internal {

inline void PutVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline bool GetVarint(absl::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (in.empty()) return false;
    const uint8_t b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Reads a length that must fit the remaining input at `min_bytes` per item.
inline bool GetLength(absl::string_view& in, size_t min_bytes, size_t& n) {
  uint64_t v;
  if (!GetVarint(in, v)) return false;
  if (min_bytes > 0 && v > in.size() / min_bytes) return false;
  n = static_cast<size_t>(v);
  return true;
}

}  // namespace codec_internal

// Arithmetic types: fixed width, little-endian.
template <typename T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>> {
  static constexpr bool kDefined = true;
  static void Encode(T v, std::string& out) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));
    out.append(buf, sizeof(T));
  }
  static size_t HeapBytes(T) { return 0; }
  static bool Decode(absl::string_view& in, T& v) {
    if (in.size() < sizeof(T)) return false;
    std::memcpy(&v, in.data(), sizeof(T));
    in.remove_prefix(sizeof(T));
    return true;
  }
};

// bool: one byte, 0 or 1 (anything else is corrupt).
template <>
struct Codec<bool> {
  static constexpr bool kDefined = true;
  static void Encode(bool v, std::string& out) { out.push_back(v ? 1 : 0); }
  static size_t HeapBytes(bool) { return 0; }
  static bool Decode(absl::string_view& in, bool& v) {
    if (in.empty() || static_cast<uint8_t>(in[0]) > 1) return false;
    v = in[0] == 1;
    in.remove_prefix(1);
    return true;
  }
};

template <>
struct Codec<std::string> {
  static constexpr bool kDefined = true;
  static void Encode(const std::string& v, std::string& out) {
    codec_internal::PutVarint(v.size(), out);
    out.append(v);
  }
  // Beyond the short-string buffer, the capacity and its terminator.
  static size_t HeapBytes(const std::string& v) {
    return v.capacity() > std::string().capacity() ? v.capacity() + 1 : 0;
  }
  static bool Decode(absl::string_view& in, std::string& v) {
    size_t n;
    if (!codec_internal::GetLength(in, 1, n)) return false;
    v.assign(in.data(), n);
    in.remove_prefix(n);
    return true;
  }
};

namespace codec_internal {
// A sequence container: [count varint][items]. std::vector and
// absl::InlinedVector share the format.
template <typename V, typename T>
struct SequenceCodec {
  static constexpr bool kDefined = true;
  static void Encode(const V& v, std::string& out) {
    PutVarint(v.size(), out);
    for (const T& x : v) Codec<T>::Encode(x, out);
  }
  // (An inlined vector owns heap only once it outgrows its inline space.)
  static size_t HeapBytes(const V& v) {
    size_t n = 0;
    if constexpr (kHasHeapBytes<T>) {
      for (const T& x : v) n += ::eddy::HeapBytes(x);
    }
    if (v.capacity() > InlineCapacity<V>::value) n += v.capacity() * sizeof(T);
    return n;
  }
  static bool Decode(absl::string_view& in, V& v) {
    size_t n;
    if (!GetLength(in, 1, n)) return false;
    v.clear();
    v.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      T x{};
      if (!Codec<T>::Decode(in, x)) return false;
      v.push_back(std::move(x));
    }
    return true;
  }
};
}  // namespace codec_internal

template <typename T>
struct Codec<std::vector<T>, std::enable_if_t<kHasCodec<T>>>
    : codec_internal::SequenceCodec<std::vector<T>, T> {};

template <typename T, size_t N>
struct Codec<absl::InlinedVector<T, N>, std::enable_if_t<kHasCodec<T>>>
    : codec_internal::SequenceCodec<absl::InlinedVector<T, N>, T> {};

template <typename K, typename V, typename C>
struct Codec<std::map<K, V, C>, std::enable_if_t<kHasCodec<K> && kHasCodec<V>>> {
  static constexpr bool kDefined = true;
  static void Encode(const std::map<K, V, C>& m, std::string& out) {
    codec_internal::PutVarint(m.size(), out);
    for (const auto& [k, v] : m) {
      Codec<K>::Encode(k, out);
      Codec<V>::Encode(v, out);
    }
  }
  // A node per entry: the entry and the tree's links (libstdc++: color,
  // parent, left, right).
  static size_t HeapBytes(const std::map<K, V, C>& m) {
    size_t n = m.size() * (sizeof(typename std::map<K, V, C>::value_type) + 4 * sizeof(void*));
    for (const auto& [k, v] : m) n += ::eddy::HeapBytes(k) + ::eddy::HeapBytes(v);
    return n;
  }
  static bool Decode(absl::string_view& in, std::map<K, V, C>& m) {
    size_t n;
    if (!codec_internal::GetLength(in, 2, n)) return false;
    m.clear();
    for (size_t i = 0; i < n; ++i) {
      K k{};
      V v{};
      if (!Codec<K>::Decode(in, k) || !Codec<V>::Decode(in, v)) return false;
      m.emplace_hint(m.end(), std::move(k), std::move(v));
    }
    return true;
  }
};

template <typename A, typename B>
struct Codec<std::pair<A, B>, std::enable_if_t<kHasCodec<A> && kHasCodec<B>>> {
  static constexpr bool kDefined = true;
  static void Encode(const std::pair<A, B>& p, std::string& out) {
    Codec<A>::Encode(p.first, out);
    Codec<B>::Encode(p.second, out);
  }
  static size_t HeapBytes(const std::pair<A, B>& p) {
    return ::eddy::HeapBytes(p.first) + ::eddy::HeapBytes(p.second);
  }
  static bool Decode(absl::string_view& in, std::pair<A, B>& p) {
    return Codec<A>::Decode(in, p.first) && Codec<B>::Decode(in, p.second);
  }
};

template <typename... Ts>
struct Codec<std::tuple<Ts...>, std::enable_if_t<(kHasCodec<Ts> && ...)>> {
  static constexpr bool kDefined = true;
  static void Encode(const std::tuple<Ts...>& t, std::string& out) {
    std::apply([&out](const auto&... x) { (EncodeTo(x, out), ...); }, t);
  }
  static size_t HeapBytes(const std::tuple<Ts...>& t) {
    return std::apply([](const auto&... x) { return (size_t{0} + ... + ::eddy::HeapBytes(x)); }, t);
  }
  static bool Decode(absl::string_view& in, std::tuple<Ts...>& t) {
    return std::apply([&in](auto&... x) { return (DecodeFrom(in, x) && ...); }, t);
  }
};

template <typename T>
struct Codec<std::optional<T>, std::enable_if_t<kHasCodec<T>>> {
  static constexpr bool kDefined = true;
  static void Encode(const std::optional<T>& v, std::string& out) {
    out.push_back(v.has_value() ? 1 : 0);
    if (v) Codec<T>::Encode(*v, out);
  }
  static size_t HeapBytes(const std::optional<T>& v) { return v ? ::eddy::HeapBytes(*v) : 0; }
  static bool Decode(absl::string_view& in, std::optional<T>& v) {
    if (in.empty() || static_cast<uint8_t>(in[0]) > 1) return false;
    const bool has = in[0] == 1;
    in.remove_prefix(1);
    if (!has) {
      v.reset();
      return true;
    }
    T x{};
    if (!Codec<T>::Decode(in, x)) return false;
    v = std::move(x);
    return true;
  }
};

// A variant: its index (one byte), then the alternative held.
template <typename... Ts>
struct Codec<std::variant<Ts...>, std::enable_if_t<(kHasCodec<Ts> && ...) && (sizeof...(Ts) < 256)>> {
  static constexpr bool kDefined = true;
  static void Encode(const std::variant<Ts...>& v, std::string& out) {
    out.push_back(static_cast<char>(v.index()));
    std::visit([&](const auto& x) { Codec<std::decay_t<decltype(x)>>::Encode(x, out); }, v);
  }
  static size_t HeapBytes(const std::variant<Ts...>& v) {
    return std::visit([](const auto& x) { return ::eddy::HeapBytes(x); }, v);
  }
  static bool Decode(absl::string_view& in, std::variant<Ts...>& v) {
    if (in.empty() || static_cast<uint8_t>(in[0]) >= sizeof...(Ts)) return false;
    const size_t index = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    return DecodeAlternative<0>(index, in, v);
  }

 private:
  template <size_t I>
  static bool DecodeAlternative(size_t index, absl::string_view& in, std::variant<Ts...>& v) {
    if constexpr (I < sizeof...(Ts)) {
      if (index != I) return DecodeAlternative<I + 1>(index, in, v);
      std::variant_alternative_t<I, std::variant<Ts...>> x{};
      if (!Codec<decltype(x)>::Decode(in, x)) return false;
      v.template emplace<I>(std::move(x));
      return true;
    } else {
      return false;
    }
  }
};

}  // namespace eddy

// Defines eddy::Codec<Type> for an aggregate struct. List *all* its members in
// declaration order (they are bound with a structured binding, so a missing
// or extra name is a compile error, and so is adding a member to the struct
// without adding it here). Use at global namespace scope.
#define EDDY_CODEC(Type, ...)                                                   \
  namespace eddy {                                                              \
  template <>                                                                   \
  struct Codec<Type> {                                                          \
    static constexpr bool kDefined = true;                                      \
    static void Encode(const Type& v, std::string& out) {                       \
      const auto& [__VA_ARGS__] = v;                                            \
      ::eddy::codec_internal::EncodeFields(out, __VA_ARGS__);                   \
    }                                                                           \
    static size_t HeapBytes(const Type& v) {                                    \
      const auto& [__VA_ARGS__] = v;                                            \
      return ::eddy::codec_internal::HeapFields(__VA_ARGS__);                   \
    }                                                                           \
    static bool Decode(absl::string_view& in, Type& v) {                        \
      auto& [__VA_ARGS__] = v;                                                  \
      return ::eddy::codec_internal::DecodeFields(in, __VA_ARGS__);             \
    }                                                                           \
  };                                                                            \
  }

namespace eddy::codec_internal {

template <typename... Ts>
void EncodeFields(std::string& out, const Ts&... fields) {
  (EncodeTo(fields, out), ...);
}

template <typename... Ts>
size_t HeapFields(const Ts&... fields) {
  return (size_t{0} + ... + ::eddy::HeapBytes(fields));
}

template <typename... Ts>
bool DecodeFields(absl::string_view& in, Ts&... fields) {
  return (DecodeFrom(in, fields) && ...);
}

}  // namespace eddy::codec_internal

#endif  // EDDY_STATE_CODEC_H_
