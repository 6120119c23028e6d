#include "args.hpp"

namespace mpf::control {

namespace {
const json kNull;

[[noreturn]] void bad(const std::string& m) { throw ApiError("bad_request", m); }
}  // namespace

Args::Args(const json& args) : j_(args.is_null() ? kNull : args) {
  if (!j_.is_null() && !j_.is_object()) bad("\"args\" must be an object");
}

const json* Args::find(const char* key) {
  used_.insert(key);
  if (!j_.is_object()) return nullptr;
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

const json* Args::raw(const char* key) { return find(key); }

std::optional<int64_t> Args::integer(const char* key, int64_t lo, int64_t hi) {
  const json* v = find(key);
  if (!v) return std::nullopt;
  std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (!v->is_number_integer())
    bad(std::string("\"") + key + "\" must be an integer " + range);
  // Non-negative literals parse as unsigned: compare those without the signed cast first.
  bool out = v->is_number_unsigned()
                 ? v->get<uint64_t>() > uint64_t(hi) || int64_t(v->get<uint64_t>()) < lo
                 : v->get<int64_t>() < lo || v->get<int64_t>() > hi;
  if (out)
    bad(std::string("\"") + key + "\" must be in " + range + ", not " + v->dump());
  return v->get<int64_t>();
}

std::optional<double> Args::number(const char* key, double lo, double hi) {
  const json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_number() || !(v->get<double>() >= lo && v->get<double>() <= hi)) {
    auto num = [](double d) {
      std::string s = std::to_string(d);
      s.erase(s.find_last_not_of('0') + 1);
      if (s.back() == '.') s.pop_back();
      return s;
    };
    bad(std::string("\"") + key + "\" must be a number in " + num(lo) + ".." + num(hi) +
        ", not " + v->dump());
  }
  return v->get<double>();
}

std::optional<std::string> Args::string(const char* key) {
  const json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) bad(std::string("\"") + key + "\" must be a string, not " + v->dump());
  return v->get<std::string>();
}

std::optional<std::string> Args::one_of(const char* key,
                                        std::initializer_list<const char*> choices) {
  std::optional<std::string> v = string(key);
  if (!v) return v;
  std::string all;
  for (const char* c : choices) {
    if (*v == c) return v;
    all += std::string(all.empty() ? "" : "|") + c;
  }
  bad(std::string("\"") + key + "\" must be " + all + ", not \"" + *v + "\"");
}

void Args::done() const {
  if (!j_.is_object()) return;
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (!used_.count(it.key())) bad("unknown argument \"" + it.key() + "\"");
}

}  // namespace mpf::control
