#include "stats/drop_reason.hpp"

namespace mpf {

namespace {
constexpr const char* kNames[] = {
#define MPF_X(name, text) #name,
    MPF_DROP_REASONS(MPF_X)
#undef MPF_X
};
constexpr const char* kTexts[] = {
#define MPF_X(name, text) text,
    MPF_DROP_REASONS(MPF_X)
#undef MPF_X
};
}  // namespace

const char* drop_name(Drop d) { return unsigned(d) < kDropReasons ? kNames[unsigned(d)] : "?"; }
const char* drop_description(Drop d) {
  return unsigned(d) < kDropReasons ? kTexts[unsigned(d)] : "?";
}

}  // namespace mpf
