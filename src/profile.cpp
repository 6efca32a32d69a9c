#include "boxjail/profile.h"

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>

#include "boxjail/policyfile.h"
#include "boxjail_profiles.h"  // generated from profiles/*.toml (cmake/embed.cmake)

namespace boxjail::profile {
namespace {

const Builtin kBuiltins[] = {
    {"qemu", generated::kQemu, /*needs_user=*/true, /*qemu_args=*/true},
};

std::string one_line(std::string msg) {
  for (char& c : msg)
    if (c == '\n') c = ' ';
  return msg;
}

void json_string(std::string* out, std::string_view s) {
  *out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += ch;
    } else if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 15];
    } else {
      *out += ch;
    }
  }
  *out += '"';
}

void json_strings(std::string* out, const std::vector<std::string>& v) {
  *out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) *out += ',';
    json_string(out, v[i]);
  }
  *out += ']';
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    out.push_back(trim(s.substr(start, c - start)));
    start = c + 1;
  }
  return out;
}

// "read:EPERM" → "read".
std::string call_name(const std::string& item) { return trim(item.substr(0, item.find(':'))); }

// Every system call named in a list of --seccomp-* values (groups, "@...",
// are not expanded: a group the user names does not take calls out of the
// profile's lists).
std::vector<std::string> call_names(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values)
    for (const auto& item : split_commas(v))
      if (!item.empty() && item[0] != '@') out.push_back(call_name(item));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// NAME in "NAME=VALUE", lower case (rlimit names are not case-sensitive).
std::string setting_name(const std::string& v) {
  std::string n = trim(v.substr(0, v.find('=')));
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return n;
}

// The user's values of the profile's list `key`, and what they change in
// it, as apply() documents: the profile's values that are left, in order.
std::vector<std::string> profile_values(const std::string& key, const std::vector<std::string>& mine,
                                        const std::vector<std::string>& users,
                                        const std::vector<std::string>& user_denied,
                                        const std::vector<std::string>& user_allowed,
                                        std::vector<std::string>* left_out) {
  std::vector<std::string> out;
  for (const std::string& v : mine) {
    if (key == "rlimit" || key == "cgroup-set") {
      auto same = [&](const std::string& u) { return setting_name(u) == setting_name(v); };
      auto it = std::find_if(users.begin(), users.end(), same);
      if (it != users.end()) {
        left_out->push_back(key + " " + v + ": replaced by the user's " + key + " " + *it);
        continue;
      }
    } else if (key == "seccomp-allow" || key == "seccomp-deny") {
      const std::vector<std::string>& other = key == "seccomp-allow" ? user_denied : user_allowed;
      std::string kept;
      for (const auto& item : split_commas(v)) {
        if (contains(other, call_name(item))) {
          left_out->push_back(key + " " + item + ": the user's --" +
                              (key == "seccomp-allow" ? "seccomp-deny" : "seccomp-allow") +
                              " names it");
          continue;
        }
        kept += (kept.empty() ? "" : ",") + item;
      }
      if (kept.empty()) continue;
      out.push_back(kept);
      continue;
    } else if (key == "fs-ro" || key == "fs-rx" || key == "fs-rw" || key == "fs-rwx") {
      struct stat st {};
      if (!v.empty() && stat(v.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        left_out->push_back(key + " " + v + ": " + std::strerror(errno) +
                            " (no rule: there is nothing there to reach)");
        continue;
      }
    }
    out.push_back(v);
  }
  return out;
}

// "config FILE" for a key-level source that is a file, else the source.
std::string shown(const std::string& source) {
  if (source == "command line" || source.rfind("profile ", 0) == 0) return source;
  return "config " + source;
}

// Where the key came from, as --dry-run names it.
std::string key_source(const std::vector<std::pair<std::string, std::string>>& sources,
                       const std::string& key) {
  for (const auto& [k, from] : sources)
    if (k == key) return shown(from);
  return "command line";
}

void add_unique(std::vector<std::string>* v, const std::string& s) {
  if (!contains(*v, s)) v->push_back(s);
}

// The sources of the value `value` of `key` ("fs-ro", "/usr/share/qemu").
std::vector<std::string> value_source(const ProfilePlan& plan,
                                      const std::vector<std::pair<std::string, std::string>>& sources,
                                      const std::string& key, const std::string& value) {
  std::vector<std::string> out;
  for (const auto& vs : plan.value_sources)
    if (vs.key == key && vs.value == value)
      add_unique(&out, vs.source.empty() ? key_source(sources, key) : vs.source);
  if (out.empty()) out.push_back(key_source(sources, key));
  return out;
}

// A rule's `from` of the form "--KEY VALUE" → its sources.
std::vector<std::string> flag_source(const ProfilePlan& plan,
                                     const std::vector<std::pair<std::string, std::string>>& sources,
                                     const std::string& from) {
  const size_t sp = from.find(' ');
  const std::string key = from.substr(2, sp == std::string::npos ? std::string::npos : sp - 2);
  if (sp == std::string::npos) return {key_source(sources, key)};
  return value_source(plan, sources, key, from.substr(sp + 1));
}

}  // namespace

const Builtin* find_builtin(std::string_view name) {
  for (const Builtin& b : kBuiltins)
    if (name == b.name) return &b;
  return nullptr;
}

std::string builtin_names() {
  std::string out;
  for (const Builtin& b : kBuiltins) out += (out.empty() ? "" : ", ") + std::string(b.name);
  return out;
}

bool is_name(std::string_view value) {
  return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

bool apply(CLI::App& app, Options* o, std::string* err) {
  CLI::Option* given = app.get_option_no_throw("--profile");
  if (given == nullptr || given->count() == 0) return true;
  const std::string value = o->profile;
  o->has_profile = true;
  const std::string where = "--profile " + value + ": ";
  std::string text;
  if (value.empty())
    return *err = "--profile: empty (give a built-in profile, " + builtin_names() +
                  ", or a FILE)",
           false;
  if (is_name(value)) {
    const Builtin* b = find_builtin(value);
    if (b == nullptr)
      return *err = where + "no built-in profile of that name (built in: " + builtin_names() +
                    "); a profile file is given by its path, such as ./" + value + ".toml",
             false;
    text = b->text;
  } else if (!read_policy_file("--profile", value, &text, err)) {
    return false;
  }
  o->profile_label = "profile " + value;

  std::vector<CLI::ConfigItem> items;
  try {
    std::vector<std::string> no_command;
    items = config::checked_items(text, &app, "--profile", &no_command);
  } catch (const CLI::ConfigError& e) {
    return *err = where + one_line(e.what()), false;
  }
  // What the user gave, before any of the profile goes in.
  auto user_results = [&](const char* key) {
    const CLI::Option* op = app.get_option_no_throw(std::string("--") + key);
    return op != nullptr ? op->results() : std::vector<std::string>{};
  };
  const std::vector<std::string> user_denied = call_names(user_results("seccomp-deny"));
  const std::vector<std::string> user_allowed = call_names(user_results("seccomp-allow"));

  for (CLI::ConfigItem& it : items) {
    const std::string& key = it.name;
    CLI::Option* op = app.get_option_no_throw("--" + key);
    if (op == nullptr)
      return *err = where + "key '" + key + "': internal error: the option is not registered",
             false;
    const bool user = op->count() > 0;
    try {
      if (op->get_expected_min() == 0) {
        // A flag: the user's, when given (--net-deny=false included).
        if (user) continue;
        op->add_result(op->get_flag_value(key, it.inputs.at(0)));
        op->run_callback();
      } else if (op->get_items_expected_max() > 1) {
        // A list: the profile's values, then the user's.
        const std::vector<std::string> users = op->results();
        std::vector<std::string> merged = profile_values(key, it.inputs, users, user_denied,
                                                         user_allowed, &o->profile_left_out);
        if (merged.empty()) continue;
        for (const auto& v : merged) o->value_sources.push_back({key, v, o->profile_label});
        for (const auto& v : users) o->value_sources.push_back({key, v, ""});
        merged.insert(merged.end(), users.begin(), users.end());
        op->clear();
        op->add_result(merged);
        op->run_callback();
      } else {
        // One value: the user's, when given.
        if (user) continue;
        op->add_result(it.inputs);
        op->run_callback();
      }
    } catch (const CLI::Error& e) {
      return *err = where + "key '" + key + "': " + one_line(e.what()), false;
    }
    if (!user) o->sources.push_back({key, o->profile_label});
  }
  return true;
}

bool check(const Options& o, ProfilePlan* plan, std::string* err) {
  if (!o.has_profile) return true;
  plan->active = true;
  plan->name = o.profile;
  const Builtin* b = is_name(o.profile) ? find_builtin(o.profile) : nullptr;
  plan->builtin = b != nullptr;
  plan->qemu_args = b != nullptr && b->qemu_args;
  plan->left_out = o.profile_left_out;
  plan->value_sources = o.value_sources;
  if (o.has_learn)
    return *err = "--learn cannot be combined with --profile: --learn writes a whole policy of "
                  "its own (learn without the profile, then replay FILE with --config)",
           false;
  if (b != nullptr && b->needs_user && !o.has_user)
    return *err = "--profile " + o.profile + " needs --user: the profile keeps " + o.profile +
                  " away from root's files only when it runs as another user (such as --user "
                  "nobody; better, a user of the VM's own: see boxjail(1), Profiles)",
           false;
  return true;
}

bool add_qemu_rules(const std::vector<std::string>& argv, const std::string& chdir,
                    landlock::LandlockPlan* landlock, ProfilePlan* plan,
                    std::vector<std::string>* warnings, std::string* err) {
  if (!plan->qemu_args) return true;
  // qemu's working directory: --chdir, from boxjail's own.
  std::string cwd = chdir;
  if (cwd.empty() || cwd[0] != '/') {
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf) == nullptr)
      return *err = "--profile " + plan->name + ": the working directory: " +
                    std::strerror(errno),
             false;
    cwd = std::string(buf) + (chdir.empty() ? "" : "/" + chdir);
  }
  std::string msg;
  if (!qemu_args::add_rules(argv, cwd, landlock, &plan->derived, warnings, &msg))
    return *err = "--profile " + plan->name + ": " + msg, false;
  return true;
}

std::string to_json(const ProfilePlan& plan) {
  std::string j = "{\"name\":";
  json_string(&j, plan.name);
  j += ",\"built_in\":";
  j += plan.builtin ? "true" : "false";
  j += ",\"qemu_args\":";
  j += plan.qemu_args ? "true" : "false";
  j += ",\"left_out\":";
  json_strings(&j, plan.left_out);
  j += ",\"from_qemu_args\":[";
  for (size_t i = 0; i < plan.derived.size(); ++i) {
    const qemu_args::Derived& d = plan.derived[i];
    if (i) j += ',';
    j += "{\"argument\":";
    json_string(&j, d.use.option + " " + d.use.argument);
    j += ",\"file\":";
    json_string(&j, d.use.path);
    j += ",\"use\":";
    json_string(&j, qemu_args::use_name(d.use.use));
    j += ",\"rule\":";
    json_string(&j, d.rule_path);
    j += ",\"access\":[";
    const std::string names = landlock::fs_names(d.access);
    size_t start = 0;
    bool first = true;
    while (start < names.size()) {
      size_t c = names.find(',', start);
      if (c == std::string::npos) c = names.size();
      if (!first) j += ',';
      json_string(&j, names.substr(start, c - start));
      first = false;
      start = c + 1;
    }
    j += "]}";
  }
  j += "]}";
  return j;
}

std::string rule_sources_json(const ProfilePlan& plan,
                              const std::vector<std::pair<std::string, std::string>>& sources,
                              const landlock::LandlockPlan& landlock,
                              const seccomp::SeccompPlan& seccomp, const jail::JailPlan& jail) {
  std::string j = "{\"landlock\":[";
  for (size_t i = 0; i < landlock.paths.size(); ++i) {
    const landlock::PathRule& p = landlock.paths[i];
    std::vector<std::string> from, arguments;
    // p.flags: "--fs-ro --fs-exec-deps qemu -kernel".
    std::vector<std::string> words;
    for (size_t at = 0; at < p.flags.size();) {
      size_t sp = p.flags.find(' ', at);
      if (sp == std::string::npos) sp = p.flags.size();
      if (sp > at) words.push_back(p.flags.substr(at, sp - at));
      at = sp + 1;
    }
    for (size_t w = 0; w < words.size(); ++w) {
      if (words[w] == "qemu" && w + 1 < words.size()) {
        const std::string& option = words[++w];
        add_unique(&from, "qemu " + option);
        for (const auto& d : plan.derived)
          if (d.use.option == option && d.rule_path == p.path)
            add_unique(&arguments, d.use.option + " " + d.use.argument);
      } else if (words[w] == "--fs-exec-deps") {
        add_unique(&from, key_source(sources, "fs-exec-deps"));
      } else if (words[w].rfind("--", 0) == 0) {
        for (const auto& s : value_source(plan, sources, words[w].substr(2), p.path))
          add_unique(&from, s);
      }
    }
    if (i) j += ',';
    j += "{\"path\":";
    json_string(&j, p.path);
    j += ",\"from\":";
    json_string(&j, p.flags);
    j += ",\"sources\":";
    json_strings(&j, from);
    if (!arguments.empty()) {
      j += ",\"arguments\":";
      json_strings(&j, arguments);
    }
    j += '}';
  }
  j += "],\"ports\":[";
  for (size_t i = 0; i < landlock.port_specs.size(); ++i) {
    if (i) j += ',';
    j += "{\"from\":";
    json_string(&j, landlock.port_specs[i]);
    j += ",\"sources\":";
    json_strings(&j, flag_source(plan, sources, landlock.port_specs[i]));
    j += '}';
  }
  j += "],\"seccomp\":[";
  for (size_t i = 0; i < seccomp.rules.size(); ++i) {
    const seccomp::Rule& r = seccomp.rules[i];
    std::vector<std::string> from;
    if (r.from.rfind("--", 0) == 0)
      from = flag_source(plan, sources, r.from);
    else if (r.from.find(':') != std::string::npos && r.from.rfind("jail:", 0) != 0)
      from = {key_source(sources, "seccomp-profile")};  // FILE:LINE of --seccomp-profile
    else
      from = {"boxjail"};
    if (i) j += ',';
    j += "{\"syscall\":";
    json_string(&j, r.name);
    j += ",\"from\":";
    json_string(&j, r.from);
    j += ",\"sources\":";
    json_strings(&j, from);
    j += '}';
  }
  j += "],\"jail\":[";
  for (size_t i = 0; i < jail.rules.size(); ++i) {
    if (i) j += ',';
    j += "{\"syscall\":";
    json_string(&j, jail.rules[i].name);
    j += ",\"from\":";
    json_string(&j, jail.rules[i].from);
    j += ",\"sources\":[\"jail\"]}";
  }
  j += "]}";
  return j;
}

}  // namespace boxjail::profile
