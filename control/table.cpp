#include "table.hpp"

#include <algorithm>

namespace mpf::control {

Table::Table(std::vector<std::string> header)
    : header_(std::move(header)), right_(header_.size(), false) {}

Table& Table::right(std::initializer_list<size_t> columns) {
  for (size_t c : columns)
    if (c < right_.size()) right_[c] = true;
  return *this;
}

void Table::add(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

std::string Table::render() const {
  std::vector<size_t> w(header_.size());
  for (size_t c = 0; c < header_.size(); c++) {
    w[c] = header_[c].size();
    for (const auto& r : rows_) w[c] = std::max(w[c], r[c].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t c = 0; c < r.size(); c++) {
      if (c) s += "  ";
      std::string pad(w[c] - r[c].size(), ' ');
      s += right_[c] ? pad + r[c] : r[c] + pad;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s + '\n';
  };
  line(header_);
  for (const auto& r : rows_) line(r);
  return out;
}

}  // namespace mpf::control
