#include "boxjail/config.h"

#include <sstream>
#include <string_view>

#include "boxjail/cli.h"
#include "boxjail/policyfile.h"
#include "boxjail/profile.h"  // checked_items, shared with --profile
#include "boxjail/suggest.h"

namespace boxjail::config {
namespace {

// Where a TOML line's comment starts (npos: none), and the bracket depth
// its value part changes by; quotes are honoured.
struct LineScan {
  size_t comment = std::string::npos;
  int depth = 0;
};
LineScan scan(const std::string& line) {
  LineScan r;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == '\\' && quote == '"') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      r.comment = i;
      break;
    } else if (c == '[') {
      ++r.depth;
    } else if (c == ']') {
      --r.depth;
    }
  }
  return r;
}

std::string trimmed(std::string s) {
  const char* ws = " \t\r";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// `key = [a, b,]` without the comma before the last "]".
std::string without_trailing_comma(std::string code) {
  const size_t close = code.rfind(']');
  if (close == std::string::npos || close == 0) return code;
  const size_t prev = code.find_last_not_of(" \t", close - 1);
  if (prev != std::string::npos && code[prev] == ',') code.erase(prev, 1);
  return code;
}

}  // namespace

// CLI11 2.1 reads an array over several lines only when the first line
// holds more than "[", and takes a trailing comma as an empty element; TOML
// allows both. A key given twice is an error here (CLI11 would merge the
// two into one array).
std::string join_arrays(std::istream& in) {
  std::string out, line, pending;
  int depth = 0;
  std::vector<std::string> keys;
  size_t lineno = 0, array_line = 0;  // this line's number, and the open array's
  std::string array_key;
  while (std::getline(in, line)) {
    ++lineno;
    LineScan sc = scan(line);
    std::string code = trimmed(line.substr(0, sc.comment));
    if (depth > 0) {
      pending += code;
      depth += sc.depth;
      if (depth > 0) continue;
      out += without_trailing_comma(pending) + "\n";
      pending.clear();
      continue;
    }
    // Outside an array, a line that starts with '[' is a table header.
    if (!code.empty() && code[0] == '[')
      throw CLI::ConfigError("line " + std::to_string(lineno) + ": table " + code +
                             ": tables are not supported (one key per long option, at the top)");
    size_t eq = code.find('=');
    if (!code.empty() && eq != std::string::npos) {
      std::string key = trimmed(code.substr(0, eq));
      if (key.size() >= 2 && (key[0] == '"' || key[0] == '\'') && key.back() == key[0])
        key = key.substr(1, key.size() - 2);
      for (const auto& k : keys)
        if (k == key) throw CLI::ConfigError("key '" + key + "': given twice");
      keys.push_back(key);
      const int opened = scan(code.substr(eq + 1)).depth;
      if (opened > 0) {
        pending = code;
        depth = opened;
        array_line = lineno;
        array_key = key;
        continue;
      }
      if (code.find('[', eq) != std::string::npos) {
        out += without_trailing_comma(code) + "\n";
        continue;
      }
    }
    out += line + "\n";
  }
  if (depth > 0)
    throw CLI::ConfigError("line " + std::to_string(array_line) + ": key '" + array_key +
                           "': the array is not closed with ]");
  return out;
}

std::vector<CLI::ConfigItem> TomlReader::from_config(std::istream&) const {
  // CLI11 opened the file by name, following symbolic links and with no
  // check of who could write it: that stream is left unread, and the file
  // is read again, checked, from the name.
  const CLI::Option* config = app != nullptr ? app->get_config_ptr() : nullptr;
  if (config == nullptr || files_read_ >= config->results().size())
    throw CLI::ConfigError("internal error: the config file to read is unknown");
  const std::string& file = config->results()[config->results().size() - 1 - files_read_++];
  std::string text, err;
  if (!read_policy_file("--config", file, &text, &err)) {
    const std::string prefix = "--config " + file + ": ";
    throw PolicyFileError(err.rfind(prefix, 0) == 0 ? err.substr(prefix.size()) : err, err);
  }
  return checked_items(text, app, "--config", &command);
}

std::vector<CLI::ConfigItem> checked_items(const std::string& text, const CLI::App* app,
                                          const std::string& flag,
                                          std::vector<std::string>* command) {
  const bool profile = flag == "--profile";
  const std::string where = profile ? "a profile" : "a config file";
  std::istringstream in(text);
  std::istringstream joined(join_arrays(in));
  std::vector<CLI::ConfigItem> read = CLI::ConfigTOML().from_config(joined);
  std::vector<CLI::ConfigItem> out;
  for (CLI::ConfigItem& it : read) {
    // join_arrays refused table headers; a dotted key (a.b = 1) is one too.
    if (it.name == "++" || it.name == "--" || !it.parents.empty())
      throw CLI::ConfigError("key '" + it.fullname() +
                             "': tables are not supported (one key per long option, at the top)");
    if (it.name == "command" && profile)
      throw CLI::ConfigError("key 'command': not allowed in a profile (PROGRAM comes from the "
                             "command line or from --config)");
    if (it.name == "command") {
      if (it.inputs.empty() || it.inputs[0].empty())
        throw CLI::ConfigError("key 'command': empty (give PROGRAM and its arguments, such as "
                               "command = [\"qemu-system-x86_64\", \"-m\", \"1G\"])");
      *command = it.inputs;
      continue;
    }
    const std::string n = it.name;
    if (n == "config" || n == "features" || n == "list-syscall-groups" || n == "help" ||
        n == "version" || n == "stop" || n == "stop-timeout" ||
        (n == "profile" && profile))
      throw CLI::ConfigError("key '" + n + "': not allowed in " + where + " (give --" + n +
                             " on the command line)");
    const Flag* f = find_flag(n);
    if (f == nullptr) {
      std::vector<std::string> known{"command"};
      size_t count = 0;
      const Flag* table = flag_table(&count);
      for (size_t i = 0; i < count; ++i) known.push_back(long_name(table[i]));
      const std::string hint = suggest::did_you_mean(n, known);
      throw CLI::ConfigError("key '" + n + "': unknown" +
                             (hint.empty() ? " (a key is a long option without its --, such as "
                                             "rlimit; see boxjail --help)"
                                           : hint + " (see boxjail --help)"));
    }
    const bool optional_value = std::string_view(f->names).find('{') != std::string_view::npos;
    const bool is_flag = f->value == nullptr || optional_value;
    if (is_flag) {
      if (it.inputs.size() != 1)
        throw CLI::ConfigError("key '" + n + "': expected true or false, not an array");
      const std::string& v = it.inputs[0];
      if (v == "false") continue;  // as if the flag were not given
      if (n == "verbose") {
        if (v != "true" && (v.empty() || v.find_first_not_of("0123456789") != v.npos ||
                            v.size() > 2))
          throw CLI::ConfigError("key 'verbose': expected true, false or a count (such as 2)");
      } else if (!optional_value && v != "true") {
        throw CLI::ConfigError("key '" + n + "': expected true or false, not '" + v + "'");
      }
      if (optional_value && v == "true") it.inputs[0].clear();  // the default value
    } else {
      if (it.inputs.empty())
        throw CLI::ConfigError("key '" + n + "': empty array");
      const CLI::Option* opt = app->get_option_no_throw("--" + n);
      if (it.inputs.size() > 1 && opt != nullptr && opt->get_items_expected_max() <= 1)
        throw CLI::ConfigError("key '" + n + "': takes one value, not an array");
    }
    out.push_back(std::move(it));
  }
  return out;
}

}  // namespace boxjail::config
