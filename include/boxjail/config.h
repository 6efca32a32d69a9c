// --config FILE: TOML through CLI11's own config reader, with every key
// checked against the flag table (cli.h) before CLI11 applies it, so that
// each error names the key. See boxjail(1), CONFIGURATION FILES.
#pragma once

#include <CLI/CLI.hpp>
#include <istream>
#include <string>
#include <vector>

namespace boxjail::config {

/// TOML as boxjail reads it, for CLI11's parser. Arrays that span several
/// lines, and trailing commas, are joined onto one line first (CLI11 2.1
/// reads neither). `command = [...]` is taken out into `command`; every
/// other key must be a long option of the flag table. Errors are thrown as
/// CLI::ConfigError with a one-line message that starts with the key.
class TomlReader : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override;

  /// The parser the options are registered with (to ask which take one
  /// value only).
  const CLI::App* app = nullptr;
  mutable std::vector<std::string> command;  // `command = [...]`, if given
};

/// The text of `in` with each multi-line array joined onto its key's line,
/// comments inside it and a trailing comma dropped. Throws CLI::ConfigError
/// for a key given twice and for an array that is not closed.
std::string join_arrays(std::istream& in);

}  // namespace boxjail::config
