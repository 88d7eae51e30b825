#include "arrow/print/batch_printer.h"

#include <algorithm>
#include <string>
#include <vector>

#include "arrow/print/value_format.h"

namespace zkarrow::arrow::print {
namespace {

bool IsNumeric(const Field& field) {
  if (field.dictionary) return false;
  const TypeId id = field.type.id;
  return id == TypeId::kInt || id == TypeId::kFloatingPoint || id == TypeId::kDecimal ||
         id == TypeId::kDuration;
}

// Characters on screen, approximated by code points (wide CJK counts as one).
int64_t DisplayWidth(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<uint8_t>(c) & 0xc0) != 0x80; });
}

// Cuts `text` to at most `width` code points, the last one then being "…".
std::string Truncate(std::string text, int64_t width) {
  if (DisplayWidth(text) <= width) return text;
  int64_t seen = 0;
  size_t cut = 0;
  for (; cut < text.size(); ++cut) {
    if ((static_cast<uint8_t>(text[cut]) & 0xc0) != 0x80 && seen++ == width - 1) break;
  }
  text.resize(cut);
  return text + "…";
}

std::string EscapeControls(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string escaped;
  for (char c : text) {
    const auto b = static_cast<uint8_t>(c);
    if (c == '\n') {
      escaped += "\\n";
    } else if (c == '\t') {
      escaped += "\\t";
    } else if (c == '\r') {
      escaped += "\\r";
    } else if (b < 0x20 || b == 0x7f) {
      escaped += "\\x";
      escaped += kHex[b >> 4];
      escaped += kHex[b & 15];
    } else {
      escaped += c;
    }
  }
  return escaped;
}

class TablePrinter final : public BatchPrinter {
 public:
  TablePrinter(const Schema& schema, PrintOptions options, std::ostream& out)
      : schema_(schema), options_(options), out_(out) {}

  void Print(const RecordBatch& batch, int64_t rows) override {
    rows = std::min(rows, batch.length);
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<std::string> row;
      for (size_t c = 0; c < batch.columns.size(); ++c) {
        const Field& field = schema_.fields[c];
        std::string cell;
        if (IsNullAt(field, *batch.columns[c], r)) {
          cell = "null";
        } else {
          AppendText(field, *batch.columns[c], r, &cell);
        }
        row.push_back(
            Truncate(EscapeControls(cell), std::max<int64_t>(options_.max_cell_width, 1)));
      }
      rows_.push_back(std::move(row));
    }
  }

  void Finish() override {
    const size_t columns = schema_.fields.size();
    std::vector<int64_t> widths(columns);
    std::vector<std::string> header;
    for (size_t c = 0; c < columns; ++c) {
      header.push_back(Truncate(EscapeControls(schema_.fields[c].name), options_.max_cell_width));
      widths[c] = DisplayWidth(header[c]);
      for (const auto& row : rows_) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
    WriteRow(header, widths, /*header=*/true);
    for (size_t c = 0; c < columns; ++c) {
      if (c > 0) out_ << "-+-";
      out_ << std::string(static_cast<size_t>(widths[c]), '-');
    }
    out_ << '\n';
    for (const auto& row : rows_) WriteRow(row, widths, /*header=*/false);
    out_ << '(' << rows_.size() << (rows_.size() == 1 ? " row)\n" : " rows)\n");
    rows_.clear();
  }

 private:
  void WriteRow(const std::vector<std::string>& cells, const std::vector<int64_t>& widths,
                bool header) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line += " | ";
      const auto pad = static_cast<size_t>(widths[c] - DisplayWidth(cells[c]));
      const bool right = !header && IsNumeric(schema_.fields[c]);
      if (right) line.append(pad, ' ');
      line += cells[c];
      if (!right && c + 1 < cells.size()) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ << line << '\n';
  }

  const Schema schema_;  // a copy: the caller's may not outlive the printer
  PrintOptions options_;
  std::ostream& out_;
  std::vector<std::vector<std::string>> rows_;
};

void AppendCsvField(std::string_view text, bool quote_empty, std::string* line) {
  const bool quote =
      (quote_empty && text.empty()) || text.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    *line += text;
    return;
  }
  *line += '"';
  for (char c : text) {
    if (c == '"') *line += '"';
    *line += c;
  }
  *line += '"';
}

class CsvPrinter final : public BatchPrinter {
 public:
  CsvPrinter(const Schema& schema, std::ostream& out) : schema_(schema), out_(out) {
    std::string line;
    for (size_t c = 0; c < schema_.fields.size(); ++c) {
      if (c > 0) line += ',';
      AppendCsvField(schema_.fields[c].name, /*quote_empty=*/true, &line);
    }
    out_ << line << '\n';
  }

  void Print(const RecordBatch& batch, int64_t rows) override {
    rows = std::min(rows, batch.length);
    std::string line;
    std::string cell;
    for (int64_t r = 0; r < rows; ++r) {
      line.clear();
      for (size_t c = 0; c < batch.columns.size(); ++c) {
        if (c > 0) line += ',';
        const Field& field = schema_.fields[c];
        if (IsNullAt(field, *batch.columns[c], r)) continue;
        cell.clear();
        AppendText(field, *batch.columns[c], r, &cell);
        AppendCsvField(cell, /*quote_empty=*/true, &line);
      }
      out_ << line << '\n';
    }
  }

  void Finish() override { out_.flush(); }

 private:
  const Schema schema_;
  std::ostream& out_;
};

class JsonLinesPrinter final : public BatchPrinter {
 public:
  JsonLinesPrinter(const Schema& schema, std::ostream& out) : schema_(schema), out_(out) {
    for (const Field& field : schema_.fields) {
      std::string key;
      AppendJsonString(field.name, &key);
      keys_.push_back(key + ":");
    }
  }

  void Print(const RecordBatch& batch, int64_t rows) override {
    rows = std::min(rows, batch.length);
    std::string line;
    for (int64_t r = 0; r < rows; ++r) {
      // clear + push_back, not `line = "{"`: GCC 12 at -O3 reports a false
      // -Wrestrict on assigning a literal here.
      line.clear();
      line.push_back('{');
      for (size_t c = 0; c < batch.columns.size(); ++c) {
        if (c > 0) line += ',';
        line += keys_[c];
        AppendJson(schema_.fields[c], *batch.columns[c], r, &line);
      }
      line += "}\n";
      out_ << line;
    }
  }

  void Finish() override { out_.flush(); }

 private:
  const Schema schema_;
  std::ostream& out_;
  std::vector<std::string> keys_;
};

}  // namespace

std::unique_ptr<BatchPrinter> BatchPrinter::Make(const Schema& schema, PrintOptions options,
                                                 std::ostream& out) {
  switch (options.format) {
    case OutputFormat::kTable:
      return std::make_unique<TablePrinter>(schema, options, out);
    case OutputFormat::kCsv:
      return std::make_unique<CsvPrinter>(schema, out);
    case OutputFormat::kJson:
      return std::make_unique<JsonLinesPrinter>(schema, out);
  }
  return nullptr;
}

}  // namespace zkarrow::arrow::print
