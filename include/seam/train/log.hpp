// seam/train/log.hpp — the per-epoch training log: one row per finished epoch, written as CSV
// (for spreadsheets and for plotting, see seam/train/plot.hpp) and as JSON (for scripts), and
// read back from the CSV.
//
// Columns, in this order:
//   epoch       1-based number of the epoch the row describes
//   step        optimizer steps taken since the start of training, at the end of that epoch
//   train_loss  mean of the epoch's step losses
//   lr          learning rate (first parameter group) used by the epoch's last step
//   seconds     wall time of the epoch, evaluation included
//   <metric>... the evaluation hook's named metrics, in the order it first returned them
// A metric an epoch did not report is an empty CSV field and a JSON null; so is NaN in JSON
// (JSON has no NaN), while the CSV writes "nan"/"inf" so nothing is lost. Numbers are written in
// the shortest form that reads back to the same double, so a log read back equals the log written.
//
// Both files are rewritten whole after every epoch, atomically (a temporary file in the same
// folder, flushed to disk, then renamed over the old one): a crash or Ctrl-C mid-write leaves the
// previous complete file, never a truncated one.
#pragma once

#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "seam/core/error.hpp"
#include "seam/eval/csv.hpp"

namespace seam::train {

/// Named values (an evaluation's metrics), in the order they should appear in logs.
using Metrics = std::vector<std::pair<std::string, double>>;

/// One row of the log: one finished epoch.
struct EpochRecord {
    int64_t epoch = 0;
    int64_t step = 0;
    double train_loss = std::numeric_limits<double>::quiet_NaN();
    double lr = std::numeric_limits<double>::quiet_NaN();
    double seconds = std::numeric_limits<double>::quiet_NaN();
    Metrics metrics;
};

namespace detail {

/// The shortest decimal text that parses back to exactly `value` ("0.1", "1e-05", "nan", "-inf").
inline std::string shortest_double(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char buf[64];
    auto result = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, result.ptr);
}

/// A CSV field, quoted when it holds a comma, a quote or surrounding blanks.
inline std::string csv_field(std::string_view text) {
    bool plain = text.find_first_of(",\"") == std::string_view::npos &&
                 (text.empty() || (text.front() != ' ' && text.front() != '\t' && text.back() != ' ' && text.back() != '\t'));
    if (plain) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

inline std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

inline std::string json_number(double value) { return std::isfinite(value) ? shortest_double(value) : "null"; }

}  // namespace detail

/// Writes `text` to `path` atomically: `path`.tmp is written and synced, then renamed over `path`.
/// seam::Error naming the path and the OS reason on failure (the old file is then untouched).
inline void write_text_atomically(const std::string& path, std::string_view text) {
    const std::string temporary = path + ".tmp";
    std::FILE* file = std::fopen(temporary.c_str(), "wb");
    if (file == nullptr) {
        int err = errno;
        fail("cannot create '", temporary, "': ", std::generic_category().message(err));
    }
    bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
    ok = std::fflush(file) == 0 && ok;
    ok = ::fsync(::fileno(file)) == 0 && ok;  // the data is on disk before the rename makes it visible
    ok = std::fclose(file) == 0 && ok;
    if (!ok) {
        std::remove(temporary.c_str());
        fail("cannot write '", temporary, "': I/O error (disk full?)");
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        int err = errno;
        std::remove(temporary.c_str());
        fail("cannot rename '", temporary, "' to '", path, "': ", std::generic_category().message(err));
    }
}

class TrainingLog {
public:
    /// The columns every log has, before the metrics.
    static constexpr std::array<std::string_view, 5> kBaseColumns{"epoch", "step", "train_loss", "lr", "seconds"};

    /// Appends a row. Metric names must be non-empty, single-line, unique within the row and
    /// different from the base columns; a name not seen before becomes a new column at the end.
    void add(EpochRecord record) {
        for (size_t i = 0; i < record.metrics.size(); ++i) {
            const std::string& name = record.metrics[i].first;
            for (size_t j = 0; j < i; ++j)
                SEAM_CHECK(record.metrics[j].first != name, "TrainingLog: epoch ", record.epoch, " reports metric \"",
                           name, "\" twice");
            add_metric_column(name);
        }
        records_.push_back(std::move(record));
    }

    /// Declares a metric column (at the end) before any row reports it; nothing when it exists.
    void add_metric_column(const std::string& name) {
        SEAM_CHECK(!name.empty(), "TrainingLog: a metric has an empty name");
        SEAM_CHECK(name.find_first_of("\r\n") == std::string::npos, "TrainingLog: metric name \"", name,
                   "\" contains a line break");
        for (std::string_view base : kBaseColumns)
            SEAM_CHECK(name != base, "TrainingLog: a metric cannot be called \"", name, "\" (a built-in column)");
        if (metric_index(name) < 0) metric_names_.push_back(name);
    }

    const std::vector<EpochRecord>& records() const { return records_; }
    const std::vector<std::string>& metric_names() const { return metric_names_; }
    size_t size() const { return records_.size(); }
    bool empty() const { return records_.empty(); }
    /// Keeps the first n rows (a resumed run drops the rows after its checkpoint).
    void truncate(size_t n) {
        if (n < records_.size()) records_.resize(n);
    }

    /// Every column name: the base columns, then the metrics.
    std::vector<std::string> columns() const {
        std::vector<std::string> out(kBaseColumns.begin(), kBaseColumns.end());
        out.insert(out.end(), metric_names_.begin(), metric_names_.end());
        return out;
    }
    bool has_column(std::string_view name) const {
        for (std::string_view base : kBaseColumns)
            if (name == base) return true;
        return metric_index(name) >= 0;
    }

    /// One column's values, a row each (NaN where an epoch did not report the metric).
    std::vector<double> column(std::string_view name) const {
        SEAM_CHECK(has_column(name), "TrainingLog: no column \"", name, "\" (columns: ", join(columns()), ")");
        std::vector<double> out;
        out.reserve(records_.size());
        for (const EpochRecord& r : records_) out.push_back(value(r, name));
        return out;
    }

    /// The CSV text: a header line, then one line per epoch.
    std::string to_csv() const {
        std::string out;
        std::vector<std::string> names = columns();
        for (size_t c = 0; c < names.size(); ++c) out += (c ? "," : "") + detail::csv_field(names[c]);
        out += '\n';
        for (const EpochRecord& r : records_) {
            out += std::to_string(r.epoch) + "," + std::to_string(r.step) + "," + detail::shortest_double(r.train_loss) +
                   "," + detail::shortest_double(r.lr) + "," + detail::shortest_double(r.seconds);
            for (const std::string& name : metric_names_) {
                out += ',';
                if (const double* v = find_metric(r, name)) out += detail::shortest_double(*v);
            }
            out += '\n';
        }
        return out;
    }

    /// The JSON text: {"columns": [...], "epochs": [{"epoch": 1, ...}, ...]}.
    std::string to_json() const {
        std::string out = "{\n  \"columns\": [";
        std::vector<std::string> names = columns();
        for (size_t c = 0; c < names.size(); ++c) out += (c ? ", " : "") + detail::json_string(names[c]);
        out += "],\n  \"epochs\": [";
        for (size_t i = 0; i < records_.size(); ++i) {
            const EpochRecord& r = records_[i];
            out += i ? ",\n    {" : "\n    {";
            out += "\"epoch\": " + std::to_string(r.epoch) + ", \"step\": " + std::to_string(r.step) +
                   ", \"train_loss\": " + detail::json_number(r.train_loss) + ", \"lr\": " + detail::json_number(r.lr) +
                   ", \"seconds\": " + detail::json_number(r.seconds);
            for (const std::string& name : metric_names_) {
                const double* v = find_metric(r, name);
                out += ", " + detail::json_string(name) + ": " + (v ? detail::json_number(*v) : std::string("null"));
            }
            out += "}";
        }
        out += records_.empty() ? "]\n}\n" : "\n  ]\n}\n";
        return out;
    }

    void write_csv(const std::string& path) const { write_text_atomically(path, to_csv()); }
    void write_json(const std::string& path) const { write_text_atomically(path, to_json()); }

private:
    static std::string join(const std::vector<std::string>& names) {
        std::string out;
        for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
        return out;
    }
    int metric_index(std::string_view name) const {
        for (size_t i = 0; i < metric_names_.size(); ++i)
            if (metric_names_[i] == name) return static_cast<int>(i);
        return -1;
    }
    static const double* find_metric(const EpochRecord& r, std::string_view name) {
        for (const auto& [key, v] : r.metrics)
            if (key == name) return &v;
        return nullptr;
    }
    static double value(const EpochRecord& r, std::string_view name) {
        if (name == "epoch") return static_cast<double>(r.epoch);
        if (name == "step") return static_cast<double>(r.step);
        if (name == "train_loss") return r.train_loss;
        if (name == "lr") return r.lr;
        if (name == "seconds") return r.seconds;
        const double* v = find_metric(r, name);
        return v ? *v : std::numeric_limits<double>::quiet_NaN();
    }

    std::vector<EpochRecord> records_;
    std::vector<std::string> metric_names_;
};

/// Parses a log CSV written by TrainingLog::to_csv (or edited by hand in the same shape). Every
/// error names the file (`name`), the 1-based line and the column.
inline TrainingLog parse_training_csv(std::istream& in, const std::string& name) {
    eval::CsvReader reader(in, name);
    std::vector<std::string> fields;
    if (!reader.next(fields)) fail(name, ": the file is empty (expected the header ", "epoch,step,train_loss,lr,seconds,...)");
    const std::vector<std::string> header = fields;
    for (size_t c = 0; c < TrainingLog::kBaseColumns.size(); ++c)
        if (c >= header.size() || header[c] != TrainingLog::kBaseColumns[c])
            reader.fail("column ", c + 1, " of the header must be '", TrainingLog::kBaseColumns[c], "', found '",
                        c < header.size() ? header[c] : std::string("(nothing)"), "'");
    for (size_t c = TrainingLog::kBaseColumns.size(); c < header.size(); ++c) {
        if (header[c].empty()) reader.fail("column ", c + 1, " of the header has no name");
        for (size_t d = 0; d < c; ++d)
            if (header[d] == header[c]) reader.fail("column ", c + 1, " repeats the name '", header[c], "' of column ", d + 1);
    }

    auto integer = [&](const std::string& text, size_t column) {
        int64_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
            reader.fail("column ", column + 1, " (", header[column], "): '", text, "' is not a whole number");
        return v;
    };
    // An empty field is a missing value (NaN); "nan", "inf" and "-inf" are accepted as written.
    auto number = [&](const std::string& text, size_t column) {
        if (text.empty()) return std::numeric_limits<double>::quiet_NaN();
        std::string_view t = text;
        if (t.starts_with('+')) t.remove_prefix(1);
        double v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc() || end != t.data() + t.size())
            reader.fail("column ", column + 1, " (", header[column], "): '", text, "' is not a number");
        return v;
    };

    TrainingLog log;
    for (size_t c = TrainingLog::kBaseColumns.size(); c < header.size(); ++c) log.add_metric_column(header[c]);
    while (reader.next(fields)) {
        if (fields.size() != header.size())
            reader.fail("the row has ", fields.size(), " fields but the header has ", header.size());
        EpochRecord r;
        r.epoch = integer(fields[0], 0);
        r.step = integer(fields[1], 1);
        r.train_loss = number(fields[2], 2);
        r.lr = number(fields[3], 3);
        r.seconds = number(fields[4], 4);
        for (size_t c = TrainingLog::kBaseColumns.size(); c < header.size(); ++c)
            if (!fields[c].empty()) r.metrics.emplace_back(header[c], number(fields[c], c));
        log.add(std::move(r));
    }
    return log;
}

/// Reads a log CSV from a file (see parse_training_csv).
inline TrainingLog read_training_csv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    SEAM_CHECK(in.is_open(), path, ": cannot open the training log for reading");
    return parse_training_csv(in, path);
}

}  // namespace seam::train
