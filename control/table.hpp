// Aligned text columns for mpfctl: a header row, then rows; numeric-looking columns are
// right-aligned. Widths count bytes, so cells stay ASCII.
#pragma once
#include <string>
#include <vector>

namespace mpf::control {

class Table {
 public:
  explicit Table(std::vector<std::string> header);
  // Columns listed here are right-aligned (numbers, units); the others left-aligned.
  Table& right(std::initializer_list<size_t> columns);
  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  // Two spaces between columns, no trailing blanks, one '\n' per row.
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace mpf::control
